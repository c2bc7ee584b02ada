"""Where page tests keep their screenshots for people to look at after a run."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def artifacts_folder(name: str) -> Path:
    """$YD_TEST_ARTIFACTS/<name>, by default .tmp-artifacts/<name> in the repository; made
    when missing."""
    folder = Path(os.environ.get("YD_TEST_ARTIFACTS") or REPO / ".tmp-artifacts") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
