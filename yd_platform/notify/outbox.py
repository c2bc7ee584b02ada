"""The persistent outbox and alert state in the app database (SQLite or MariaDB).

Enqueueing, the alert state and the event-log cursor change in one transaction, so a
crash never loses a message nor enqueues it twice; `dedupe_key` is unique as a second guard.
"""

from __future__ import annotations

import math

import sqlalchemy as sa

from yd_platform.resources.app_db import fit_key, insert_ignore

metadata = sa.MetaData()
DEDUPE_KEY_LENGTH = 255
PAUSE_PREFIX = "paused_until:"

outbox = sa.Table(
    "notify_outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_LENGTH), nullable=False, unique=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("sent_at", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_notify_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_notify_outbox_sent", "channel", "sent_at"),
)

alert_state = sa.Table(
    "notify_alert_state", metadata,
    sa.Column("check_id", sa.String(255), primary_key=True),
    sa.Column("partition_key", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("first_failed_at", sa.Double, nullable=True),
    sa.Column("escalated", sa.Boolean, nullable=False, default=False),
    sa.Column("channels", sa.String(255), nullable=False, default=""),
    sa.Column("title", sa.String(255), nullable=False, default=""),
    sa.Column("link", sa.String(1024), nullable=False, default=""),
    sa.Column("updated_at", sa.Double, nullable=False),
)

seen_evaluations = sa.Table(
    "notify_seen_evaluation", metadata,
    sa.Column("execution_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seen_at", sa.Double, nullable=False),
)

cursors = sa.Table(
    "notify_cursor", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def ensure_tables(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def get_cursor(conn: sa.Connection, name: str) -> int:
    value = conn.execute(sa.select(cursors.c.value).where(cursors.c.name == name)).scalar()
    return int(value) if value is not None else 0


def set_cursor(conn: sa.Connection, name: str, value: int) -> None:
    done = conn.execute(sa.update(cursors).where(cursors.c.name == name).values(value=value)).rowcount
    if not done:
        conn.execute(sa.insert(cursors).values(name=name, value=value))


def paused_until(conn: sa.Connection, channel: str) -> float:
    """Until when a channel's robot blocks us (0 when it does not); survives restarts."""
    return float(get_cursor(conn, f"{PAUSE_PREFIX}{channel}"))


def pause_channel(conn: sa.Connection, channel: str, until: float) -> None:
    set_cursor(conn, f"{PAUSE_PREFIX}{channel}", math.ceil(until))


def enqueue(conn: sa.Connection, *, dedupe_key: str, channel: str, kind: str, title: str, body: str,
            now: float) -> bool:
    """Queue one message unless the same dedupe key was queued before; True if queued."""
    return insert_ignore(conn, outbox, [dict(
        dedupe_key=fit_key(dedupe_key, DEDUPE_KEY_LENGTH), channel=channel, kind=kind, title=title[:255],
        body=body, status="queued", attempts=0, next_attempt_at=now, created_at=now,
    )]) == 1
