"""A clock tests move by hand (the outbox's backoffs, pauses and per-minute windows)."""

from __future__ import annotations


class Clock:
    def __init__(self, start: float = 1_760_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
