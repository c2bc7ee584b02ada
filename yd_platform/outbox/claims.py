"""Claiming outbox messages, so that two overlapping deliveries never send one message twice.

A delivery that runs long (a robot that hangs until the request timeout) can still be
sending when the next one starts. Each message is therefore claimed before it is sent:
the same transaction that selects it moves it to `sending` with a lease
(`next_attempt_at` = now + lease). The move is a compare-and-set on the row's status
and lease, so of two deliveries that selected the same row only one wins, on SQLite and
MariaDB alike (MariaDB's `SKIP LOCKED` also keeps the loser from waiting on the row).

A delivery that dies while sending leaves the row in `sending`. With `reclaim` its lease
passing makes the row due again (at least once after a crash, exactly once otherwise);
without it the row stays unconfirmed for an operator (never twice).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from yd_platform.outbox.tables import QUEUED, SENDING, messages


def due_condition(now: float, reclaim: bool = True):
    """Queued messages whose time has come, and (with `reclaim`) claims whose lease ran out."""
    statuses = (QUEUED, SENDING) if reclaim else (QUEUED,)
    return messages.c.status.in_(statuses) & (messages.c.next_attempt_at <= now)


def claim_next(engine: sa.Engine, now: float, lease_seconds: float, skip_channels: Collection[str] = (),
               scope=(), reclaim: bool = True) -> dict | None:
    """Claim the oldest due message (outside `skip_channels`, inside the `scope`
    conditions); None when there is none.

    Rows another delivery claims between our select and update are skipped, and the
    next due row is tried.
    """
    with engine.begin() as conn:
        while True:
            query = sa.select(messages).where(due_condition(now, reclaim), *scope)
            if skip_channels:
                query = query.where(messages.c.channel.not_in(list(skip_channels)))
            query = query.order_by(messages.c.id).limit(1)
            if conn.dialect.name in ("mysql", "mariadb"):
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            won = conn.execute(sa.update(messages).where(
                (messages.c.id == row["id"]) & (messages.c.status == row["status"])
                & (messages.c.next_attempt_at == row["next_attempt_at"])
            ).values(status=SENDING, next_attempt_at=now + lease_seconds)).rowcount
            if won == 1:
                return dict(row)


def finish(engine: sa.Engine, message_id: int, **values) -> None:
    """Record the outcome of a claimed message (sent, queued again, failed)."""
    with engine.begin() as conn:
        conn.execute(sa.update(messages).where(
            (messages.c.id == message_id) & (messages.c.status == SENDING)).values(**values))


def sending_or_sent_since(conn: sa.Connection, channels: list[str], since: float) -> int:
    """Messages of these channels sent after `since` or being sent now (another
    delivery's claims count against the same per-minute budget)."""
    return conn.execute(sa.select(sa.func.count()).select_from(messages).where(
        messages.c.channel.in_(channels) & ((messages.c.sent_at > since) | (messages.c.status == SENDING))
    )).scalar() or 0
