"""The outbox tables in the app database: the messages and the channels a robot blocked."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

DEDUPE_KEY_LENGTH = 255
CHANNEL_LENGTH = 64

# A message's life: queued -> sending (claimed by one delivery) -> sent, or back to queued
# for a retry, or failed (given up); skipped when its channel was not set up (and it is
# never sent later, so setting a channel up does not flood it with old messages); held
# when a delivery found it due in shadow mode (recorded, never sent, see `outbox.shadow`).
QUEUED, SENDING, SENT, FAILED, SKIPPED, HELD = "queued", "sending", "sent", "failed", "skipped", "held"
# Where a row came from: None for a message produced here; IMPORTED for a message another
# system already sent, recorded as sent so that it is never sent again.
IMPORTED = "imported"

messages = sa.Table(
    "outbox_message", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(DEDUPE_KEY_LENGTH), nullable=False, unique=True),
    sa.Column("channel", sa.String(CHANNEL_LENGTH), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("partition_key", sa.String(255), nullable=True),
    sa.Column("msgtype", sa.String(16), nullable=False, default="markdown"),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default=QUEUED),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("sent_at", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("origin", sa.String(16), nullable=True),
    sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
    sa.Index("ix_outbox_message_sent", "channel", "sent_at"),
    sa.Index("ix_outbox_message_topic", "kind", "partition_key", "status"),
)

channel_pauses = sa.Table(
    "outbox_channel_pause", metadata,
    sa.Column("channel", sa.String(CHANNEL_LENGTH), primary_key=True),
    sa.Column("until", sa.Double, nullable=False),
)


_columns_checked: set[str] = set()


def ensure_tables(engine: sa.Engine) -> None:
    """Create the tables; an outbox table made before `origin` existed gets the column
    (nullable, so its rows read as produced here)."""
    metadata.create_all(engine, checkfirst=True)
    where = engine.url.render_as_string(hide_password=False)
    if where in _columns_checked:
        return
    present = {c["name"] for c in sa.inspect(engine).get_columns(messages.name)}
    if "origin" not in present:
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"ALTER TABLE {messages.name} ADD COLUMN origin VARCHAR(16) NULL"))
        except sa.exc.DBAPIError:  # another process added it first
            if "origin" not in {c["name"] for c in sa.inspect(engine).get_columns(messages.name)}:
                raise
    _columns_checked.add(where)
