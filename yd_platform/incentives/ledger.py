"""The notice ledger in the app database: what was announced, so nothing is announced twice.

A notice is recorded as `pending` (with its full text) before it is sent, claimed as
`sending` while the POST is in flight, and marked `sent` only after the robot answered
errcode 0. A retryable failure puts it back to `pending` (until `max_attempts`, then
`failed`); a notice whose channel variable is unset is `skipped`, so configuring the robot
later does not flood the group with old awards. A notice left in `sending` by a crash is
reported as unconfirmed and never resent automatically: announcing twice is worse than
asking an operator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from yd_platform.resources.app_db import KEY_LENGTH, fit_key, insert_ignore

metadata = sa.MetaData()

notices = sa.Table(
    "incentive_notice", metadata,
    sa.Column("notice_id", sa.String(KEY_LENGTH), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("partition_key", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(128), nullable=False),
    sa.Column("msgtype", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("sent_at", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_incentive_notice_partition", "kind", "partition_key", "status"),
)

announced_violations = sa.Table(
    "incentive_sla_announced", metadata,
    sa.Column("violation_id", sa.String(255), primary_key=True),
    sa.Column("notice_id", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
)

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"


@dataclass(frozen=True)
class Notice:
    notice_id: str
    kind: str
    partition_key: str
    channel: str
    msgtype: str
    body: str


def ensure_tables(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def record_pending(conn: sa.Connection, items: list[Notice], now: float | None = None) -> int:
    """Record notices not seen before as pending, keeping their order; returns how many were new."""
    now = now or time.time()
    rows = [{"notice_id": fit_key(n.notice_id), "kind": n.kind, "partition_key": n.partition_key,
             "channel": n.channel, "msgtype": n.msgtype, "body": n.body, "status": PENDING,
             "attempts": 0, "created_at": now + i * 1e-4, "updated_at": now} for i, n in enumerate(items)]
    return insert_ignore(conn, notices, rows)


def _in_scope(kinds: list[str], partition_key: str | None) -> list:
    """Notices of `kinds` in one partition, or in every partition when None."""
    scope = [notices.c.kind.in_(kinds)]
    if partition_key is not None:
        scope.append(notices.c.partition_key == partition_key)
    return scope


def due(engine: sa.Engine, kinds: list[str], partition_key: str | None, max_attempts: int) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(notices).where(*_in_scope(kinds, partition_key),
                                     notices.c.status == PENDING, notices.c.attempts < max_attempts)
            .order_by(notices.c.created_at, notices.c.notice_id)))


def claim(engine: sa.Engine, notice_id: str, now: float) -> bool:
    """Take a pending notice for sending; False if another run took it first."""
    with engine.begin() as conn:
        return conn.execute(
            sa.update(notices).where(notices.c.notice_id == notice_id, notices.c.status == PENDING)
            .values(status=SENDING, attempts=notices.c.attempts + 1, updated_at=now)).rowcount == 1


def finish(engine: sa.Engine, notice_id: str, status: str, now: float, error: str | None = None,
           undo_claim: bool = False) -> None:
    """Record the outcome; `undo_claim` gives the attempt back (rate limited, not the notice's fault)."""
    values: dict = {"status": status, "updated_at": now, "last_error": error}
    if status == SENT:
        values["sent_at"] = now
    if undo_claim:
        values["attempts"] = notices.c.attempts - 1
    with engine.begin() as conn:
        conn.execute(sa.update(notices).where(notices.c.notice_id == notice_id).values(**values))


def statuses(engine: sa.Engine, kinds: list[str], partition_key: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(notices.c.notice_id, notices.c.status)
            .where(notices.c.kind.in_(kinds), notices.c.partition_key == partition_key)).all())


def stuck_sending(engine: sa.Engine, kinds: list[str], partition_key: str | None, older_than: float) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(notices.c.notice_id).where(
                *_in_scope(kinds, partition_key),
                notices.c.status == SENDING, notices.c.updated_at < older_than)).scalars())


def already_announced(conn: sa.Connection, violation_ids: list[str]) -> set[str]:
    if not violation_ids:
        return set()
    found: set[str] = set()
    for start in range(0, len(violation_ids), 500):
        chunk = violation_ids[start:start + 500]
        found.update(conn.execute(sa.select(announced_violations.c.violation_id)
                                  .where(announced_violations.c.violation_id.in_(chunk))).scalars())
    return found
