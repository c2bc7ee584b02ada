"""What a channel answers when a message did not go out."""

from __future__ import annotations


class DeliveryError(RuntimeError):
    """A message was not delivered. `retryable`: whether trying again can help;
    `rate_limited`: the robot's per-minute limit was met, and `pause_seconds` is how long
    the whole channel should wait. The message never contains a webhook secret."""

    def __init__(self, message: str, *, retryable: bool, rate_limited: bool = False,
                 pause_seconds: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.rate_limited = rate_limited
        self.pause_seconds = pause_seconds
