"""How a message that failed is tried again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: the n-th failed attempt waits `base_seconds * 2**(n-1)`, at most
    `max_seconds`. `max_attempts` (None: no limit) gives a message up after that many
    failed attempts. `resend_unconfirmed`: a claim left by a delivery that died mid-send is
    sent again once its lease passed (at least once); without it, it stays `sending` and
    is reported as unconfirmed, for a producer to whom twice is worse than asking someone."""

    base_seconds: float = 30.0
    max_seconds: float = 1800.0
    max_attempts: int | None = None
    resend_unconfirmed: bool = True

    def delay(self, attempts: int) -> float:
        return min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds)

    def gives_up(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts
