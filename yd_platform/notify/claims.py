"""Claiming outbox messages, so that two overlapping ticks never send one message twice.

A tick that runs long (a robot that hangs until the request timeout) can still be
sending when the daemon starts the next tick. Each message is therefore claimed before
it is sent: the same transaction that selects it moves it to `sending` with a lease
(`next_attempt_at` = now + lease). The move is a compare-and-set on the row's status
and lease, so of two ticks that selected the same row only one wins, on SQLite and
MariaDB alike (MariaDB's `SKIP LOCKED` also keeps the loser from waiting on the row).

A tick that dies while sending leaves the row in `sending`; once its lease has passed
the row is due again (delivery is at least once after a crash, exactly once otherwise).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from yd_platform.notify.outbox import outbox

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
DUE_STATUSES = (QUEUED, SENDING)


def due_condition(now: float):
    """Queued messages whose time has come, and claims whose lease ran out."""
    return outbox.c.status.in_(DUE_STATUSES) & (outbox.c.next_attempt_at <= now)


def claim_next(engine: sa.Engine, now: float, lease_seconds: float,
               skip_channels: Collection[str] = ()) -> dict | None:
    """Claim the oldest due message (outside `skip_channels`); None when there is none.

    Rows another tick claims between our select and update are skipped, and the next
    due row is tried.
    """
    with engine.begin() as conn:
        while True:
            query = sa.select(outbox).where(due_condition(now))
            if skip_channels:
                query = query.where(outbox.c.channel.not_in(list(skip_channels)))
            query = query.order_by(outbox.c.id).limit(1)
            if conn.dialect.name in ("mysql", "mariadb"):
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            won = conn.execute(sa.update(outbox).where(
                (outbox.c.id == row["id"]) & (outbox.c.status == row["status"])
                & (outbox.c.next_attempt_at == row["next_attempt_at"])
            ).values(status=SENDING, next_attempt_at=now + lease_seconds)).rowcount
            if won == 1:
                return dict(row)


def finish(engine: sa.Engine, message_id: int, **values) -> None:
    """Record the outcome of a claimed message (sent, queued again, failed)."""
    with engine.begin() as conn:
        conn.execute(sa.update(outbox).where(
            (outbox.c.id == message_id) & (outbox.c.status == SENDING)).values(**values))


def sending_or_sent_since(conn: sa.Connection, channels: list[str], since: float) -> int:
    """Messages of these channels sent after `since` or being sent now (another tick's
    claims count against the same per-minute budget)."""
    return conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
        outbox.c.channel.in_(channels) & ((outbox.c.sent_at > since) | (outbox.c.status == SENDING))
    )).scalar() or 0
