"""Messages another system already sent, recorded in the outbox as sent (`origin` imported).

When the platform takes over from a system that announced things itself, what that system
sent enters the outbox under the key the platform's producer would give the same message.
The producer's queueing then finds the key taken and the message is never sent again. A
row already in the outbox that has not gone out (queued, failed, skipped, held) is marked
sent the same way; a row already sent is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from yd_platform.outbox.enqueue import Message, stored_key
from yd_platform.outbox.tables import IMPORTED, SENDING, SENT, ensure_tables, messages
from yd_platform.resources.app_db import insert_ignore

RECORDED, MARKED_SENT, ALREADY_SENT, IN_FLIGHT = "recorded", "marked sent", "already sent", "being sent"


@dataclass(frozen=True)
class SentElsewhere:
    """A message another system sent at `sent_at` (epoch seconds)."""

    message: Message
    sent_at: float


def record_sent(engine: sa.Engine, items: Iterable[SentElsewhere], now: float, *,
                dry_run: bool = False) -> dict[str, str]:
    """Record each message as sent, imported; returns what became of each stored key:
    `recorded` (new row), `marked sent` (a row that had not gone out), `already sent`, or
    `being sent` (claimed by a delivery right now: left to it)."""
    ensure_tables(engine)
    items = list(items)
    outcome: dict[str, str] = {}
    with engine.begin() as conn:
        keys = [stored_key(i.message.dedupe_key) for i in items]
        existing = dict(conn.execute(sa.select(messages.c.dedupe_key, messages.c.status).where(
            messages.c.dedupe_key.in_(keys))).all()) if keys else {}
        new_rows = []
        for key, item in zip(keys, items):
            if key in outcome:
                continue
            status = existing.get(key)
            if status is None:
                m = item.message
                new_rows.append(dict(dedupe_key=key, channel=m.channel, kind=m.kind, partition_key=m.partition_key,
                                     msgtype=m.msgtype, title=m.title[:255], body=m.body, status=SENT, attempts=0,
                                     next_attempt_at=now, created_at=now, sent_at=item.sent_at, origin=IMPORTED))
                outcome[key] = RECORDED
            elif status == SENT:
                outcome[key] = ALREADY_SENT
            elif status == SENDING:
                outcome[key] = IN_FLIGHT
            else:
                if not dry_run:
                    conn.execute(sa.update(messages).where(
                        (messages.c.dedupe_key == key) & (messages.c.status == status)
                    ).values(status=SENT, sent_at=item.sent_at, origin=IMPORTED,
                             last_error=f"sent by the old system; was {status} here"))
                outcome[key] = MARKED_SENT
        if new_rows and not dry_run:
            insert_ignore(conn, messages, new_rows)
    return outcome
