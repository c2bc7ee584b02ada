"""Send a partition's pending notices to the WeCom group robot, recording each outcome.

The webhook URL is read from the environment variable the notice names, at send time,
and never appears in logs or metadata (errors carry `redact`ed URLs only).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from yd_platform.incentives import ledger
from yd_platform.notify.wecom import WeComError, WeComRateLimited, markdown_payload, post_wecom, text_payload

UNCONFIRMED_AFTER_SECONDS = 600


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    retry_later: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rate_limited: bool = False

    @property
    def had_failures(self) -> bool:
        return bool(self.failed or (self.retry_later and not self.rate_limited))

    def metadata(self) -> dict[str, object]:
        return {
            "notices_sent": len(self.sent), "notices_retry_later": len(self.retry_later),
            "notices_failed": len(self.failed), "notices_skipped_no_channel": len(self.skipped),
            "notices_unconfirmed": len(self.unconfirmed), "rate_limited": self.rate_limited,
            "send_errors": "\n".join(self.errors[:20]) or "none",
        }


def _payload(msgtype: str, body: str) -> dict:
    return markdown_payload(body) if msgtype == "markdown" else text_payload(body)


def deliver(engine: sa.Engine, kinds: list[str], partition_key: str | None, *, max_attempts: int,
            interval_seconds: float = 0.0, clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send every due notice of `kinds` in `partition_key` (None: in every partition, oldest
    first); stop early when rate limited."""
    report = Delivery(unconfirmed=ledger.stuck_sending(engine, kinds, partition_key,
                                                       clock() - UNCONFIRMED_AFTER_SECONDS))
    first = True
    for row in ledger.due(engine, kinds, partition_key, max_attempts):
        url = os.environ.get(row.channel, "")
        if not url:
            ledger.finish(engine, row.notice_id, ledger.SKIPPED, clock(), error=f"{row.channel} unset")
            report.skipped.append(row.notice_id)
            continue
        if not first and interval_seconds:
            sleep(interval_seconds)
        first = False
        if not ledger.claim(engine, row.notice_id, clock()):
            continue
        try:
            post_wecom(url, _payload(row.msgtype, row.body))
        except WeComRateLimited as exc:
            ledger.finish(engine, row.notice_id, ledger.PENDING, clock(), error=str(exc), undo_claim=True)
            report.rate_limited = True
            report.retry_later.append(row.notice_id)
            report.errors.append(f"{row.notice_id}: {exc}")
            break
        except WeComError as exc:
            exhausted = row.attempts + 1 >= max_attempts
            status = ledger.FAILED if (exhausted or not exc.retryable) else ledger.PENDING
            ledger.finish(engine, row.notice_id, status, clock(), error=str(exc))
            (report.failed if status == ledger.FAILED else report.retry_later).append(row.notice_id)
            report.errors.append(f"{row.notice_id}: {exc}")
            continue
        ledger.finish(engine, row.notice_id, ledger.SENT, clock())
        report.sent.append(row.notice_id)
    return report
