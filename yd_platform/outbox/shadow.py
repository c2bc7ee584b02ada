"""Shadow mode: the platform runs beside the old systems and every outgoing message is held.

Before the cutover the platform computes and decides everything as it will afterwards,
but people must hear each thing once, from the old systems. With `YD_SHADOW_MODE=true`
(read once, when the code location or a command loads, into the channels resources'
`shadow` field) a delivery sends nothing: every message it finds due is marked `held`,
with its dedupe key, channel and text kept, so `yd-platform shadow report` can compare
what would have gone out with what the old systems sent.

A held message is not a sent one (dashboards and counts of sent messages leave it out),
and it keeps its key, so the producer never queues it again. Switching shadow mode off
sends nothing retroactively: alerts and reminders of the shadow days would arrive late
and twice (the old systems told people already). What should still go out is released
by the operator (`yd-platform shadow release`), and the award notices the old incentive
system did not send are released by `yd-platform incentives import-notices`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa

from yd_platform.deployment import env_flag
from yd_platform.outbox.claims import due_condition
from yd_platform.outbox.tables import HELD, QUEUED, ensure_tables, messages

SHADOW_VARIABLE = "YD_SHADOW_MODE"
HELD_REASON = f"held: shadow mode ({SHADOW_VARIABLE}), not sent"


def shadow_from_env() -> bool:
    """Whether shadow mode is on (`YD_SHADOW_MODE` = true/1/yes/on); read when resources load."""
    return env_flag(SHADOW_VARIABLE)


def hold_due(engine: sa.Engine, channels: Iterable[str], where: list, now: float) -> int:
    """Mark the due queued messages of these channels (inside `where`) held; returns how many."""
    names = list(channels)
    if not names:
        return 0
    with engine.begin() as conn:
        return conn.execute(sa.update(messages).where(
            due_condition(now, reclaim=False), messages.c.channel.in_(names), *where
        ).values(status=HELD, last_error=HELD_REASON)).rowcount


def held_conditions(kinds: Iterable[str] | None = None, partitions: Iterable[str] | None = None,
                    since: float | None = None) -> list:
    out = [messages.c.status == HELD]
    if kinds is not None:
        out.append(messages.c.kind.in_(list(kinds)))
    if partitions is not None:
        out.append(messages.c.partition_key.in_(list(partitions)))
    if since is not None:
        out.append(messages.c.created_at >= since)
    return out


def release(engine: sa.Engine, kinds: Iterable[str] | None = None, partitions: Iterable[str] | None = None,
            since: float | None = None, *, keep: Iterable[str] = (), dry_run: bool = False,
            now: float | None = None) -> int:
    """Queue held messages again (of these kinds, partitions, created since), except the
    stored keys in `keep`; the next delivery sends them. Returns how many."""
    ensure_tables(engine)
    where = held_conditions(kinds, partitions, since)
    keep = list(keep)
    if keep:
        where.append(messages.c.dedupe_key.not_in(keep))
    with engine.begin() as conn:
        if dry_run:
            return conn.execute(sa.select(sa.func.count()).select_from(messages).where(*where)).scalar() or 0
        return conn.execute(sa.update(messages).where(*where).values(
            status=QUEUED, next_attempt_at=time.time() if now is None else now, last_error=None)).rowcount


def held_by_kind(engine: sa.Engine) -> Counter:
    """How many messages are held, per kind (alert, pms_alert, reward, ...)."""
    if not sa.inspect(engine).has_table(messages.name):
        return Counter()
    with engine.connect() as conn:
        return Counter(dict(conn.execute(sa.select(messages.c.kind, sa.func.count()).where(
            messages.c.status == HELD).group_by(messages.c.kind)).all()))


def describe(on: bool, held: Counter) -> str:
    """One line for doctor and status: whether messages go out, and what is held."""
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(held.items())) or "none yet"
    if on:
        return f"SHADOW MODE ({SHADOW_VARIABLE}=true): every outgoing message is held, none sent; held: {counts}"
    if held:
        return (f"messages are sent; {sum(held.values())} held from a shadow run stay unsent ({counts}); "
                "`yd-platform shadow release` queues them")
    return "messages are sent (shadow mode off)"
