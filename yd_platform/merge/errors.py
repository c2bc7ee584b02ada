"""The error of a partition that cannot be merged as a whole."""

from __future__ import annotations


class MergeError(RuntimeError):
    """The partition as a whole cannot be merged (no files, every file bad, bad config)."""
