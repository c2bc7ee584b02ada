"""What can go wrong while collecting, sorted by what the run should do about it.

- `ManualLoginNeeded`: a human must log in (captcha, QR code, SMS); never retried.
- `PermanentError`: retrying cannot help (wrong password, unknown report, wrong file).
- `TransientError`: timeouts, 5xx, a crashed browser, a cut-off download; retried with
  backoff and jitter, a bounded number of times.

Each error may carry `diagnostics`: where its screenshot and page HTML were kept.
"""

from __future__ import annotations


class CollectError(RuntimeError):
    retryable = False

    def __init__(self, message: str, diagnostics: dict[str, str] | None = None, body: bytes | None = None):
        super().__init__(message)
        self.diagnostics = dict(diagnostics or {})
        self.body = body  # the offending response, kept with the diagnostics

    def __str__(self) -> str:
        text = super().__str__()
        if self.diagnostics:
            text += " (diagnostics: " + ", ".join(f"{k}={v}" for k, v in sorted(self.diagnostics.items())) + ")"
        return text


class ManualLoginNeeded(CollectError):
    """The back-end wants a human (captcha/QR/SMS) before it lets the shop in."""


class PermanentError(CollectError):
    """Retrying would give the same result."""


class TransientError(CollectError):
    """Worth another try after a pause."""

    retryable = True


class SessionExpired(TransientError):
    """The saved session no longer works; log in again."""


class BadReportFile(TransientError):
    """The download is not a usable report (HTML page, truncated, unreadable header).

    Retryable: a cut-off transfer or a busy back-end's error page is often gone on the
    next try; after the last attempt the run fails and nothing is stored.
    """
