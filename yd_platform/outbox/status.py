"""What became of messages, read back by their producers (run metadata, dashboards)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa

from yd_platform.outbox.tables import messages


def statuses(engine: sa.Engine, kinds: Iterable[str], partition_key: str | None = None) -> dict[str, str]:
    """Status by stored dedupe key of the messages of these kinds (in one partition)."""
    if not sa.inspect(engine).has_table(messages.name):
        return {}
    query = sa.select(messages.c.dedupe_key, messages.c.status).where(messages.c.kind.in_(list(kinds)))
    if partition_key is not None:
        query = query.where(messages.c.partition_key == partition_key)
    with engine.connect() as conn:
        return dict(conn.execute(query).all())


def of_kind(engine: sa.Engine, kind: str) -> list[tuple[str, str | None, str]]:
    """(stored dedupe key, partition key, status) of every message of a kind."""
    if not sa.inspect(engine).has_table(messages.name):
        return []
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(
            messages.c.dedupe_key, messages.c.partition_key, messages.c.status).where(messages.c.kind == kind))]


def counts(engine: sa.Engine, kinds: Iterable[str], partition_key: str | None = None) -> Counter:
    """How many messages of these kinds (in one partition) are in each status."""
    if not sa.inspect(engine).has_table(messages.name):
        return Counter()
    query = sa.select(messages.c.status, sa.func.count()).where(messages.c.kind.in_(list(kinds)))
    if partition_key is not None:
        query = query.where(messages.c.partition_key == partition_key)
    with engine.connect() as conn:
        return Counter(dict(conn.execute(query.group_by(messages.c.status)).all()))
