"""What the notifier remembers in the app database: per check and partition whether it is
failing (and was escalated, and which channels were told), the check executions already
handled, and the cursor over run failures.

Alert state, the executions handled and the messages handed to the outbox change in one
transaction, so a crash never loses an alert nor queues it twice.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

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
