"""Channels a robot blocked: after a rate-limit answer the whole channel waits (WeCom one
minute, DingTalk ten minutes) instead of meeting the block again. Kept in the app
database, so the wait survives a restart."""

from __future__ import annotations

import sqlalchemy as sa

from yd_platform.outbox.tables import channel_pauses


def paused_until(conn: sa.Connection, channel: str) -> float:
    """Until when a channel's robot blocks us (0 when it does not)."""
    value = conn.execute(sa.select(channel_pauses.c.until).where(channel_pauses.c.channel == channel)).scalar()
    return float(value) if value is not None else 0.0


def pause_channel(conn: sa.Connection, channel: str, until: float) -> None:
    done = conn.execute(sa.update(channel_pauses).where(channel_pauses.c.channel == channel)
                        .values(until=until)).rowcount
    if not done:
        conn.execute(sa.insert(channel_pauses).values(channel=channel, until=until))
