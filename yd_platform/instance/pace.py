"""The pace of a merchant back-end: at most its `requests_per_minute` (platforms.yaml)
requests, counted over every run, process and machine that talks to it.

Pools bound how many collections run at once; a back-end's rate limit is about how
often it is asked, so a batch of quick downloads needs this second bound. The pace is
strict spacing: one request every `60 / requests_per_minute` seconds, whoever sends it.

Why the instance's storage: every run of every machine already shares the Dagster
instance (SQLite in the embedded default, MySQL in production), so the pace needs no
new service. Rate-limit libraries keep their state in memory, Redis, Memcached, MongoDB,
SQLite or PostgreSQL files (pyrate-limiter, limits, throttled-py); none in MySQL, which is
what production runs.

How: one row of the instance's key-value table per back-end (`yd/pace/<platform>`) holds
the earliest moment the next request may go. A request reserves that moment with a
compare-and-set update of the row (the update names the value it read; when another
process changed it meanwhile, no row matches and the request reads again), moves the
row on by one interval, and sleeps until its moment. Reservations are first come, first
served; a process that dies after reserving only leaves one interval unused. Moments are
wall-clock (epoch) seconds of the machines, which NTP keeps within milliseconds.

The key-value table and the run storage's connection are Dagster storage internals, not
public API: `_kv_table` and `_connection` check them and name what changed
(`DagsterInternalsChanged`), as `pools.py` does for slots.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from yd_platform.instance.pools import internals_changed, with_db_retry

KEY_PREFIX = "yd/pace/"
# Other writers changing the row between our read and our update; each retry re-reads.
CAS_ATTEMPTS = 50


def _changed(what: str):
    return internals_changed(what, module="pace.py", expects="_kv_table / _connection")


def _kv_table() -> sa.Table:
    try:
        from dagster._core.storage.runs.schema import KeyValueStoreTable
    except ImportError:
        raise _changed("dagster._core.storage.runs.schema.KeyValueStoreTable (gone)") from None
    missing = {"key", "value"} - set(KeyValueStoreTable.c.keys())
    if missing:
        raise _changed(f"the key-value table kvs (no column {', '.join(sorted(missing))})")
    return KeyValueStoreTable


def _connection(instance: dg.DagsterInstance):
    """A connection in a transaction of the instance's run storage (where the table is)."""
    storage = instance.run_storage
    connect = getattr(storage, "connect", None)
    if not callable(connect):
        raise _changed(f"{type(storage).__name__}.connect (gone: not a SQL run storage)")
    return connect()


def pace_key(name: str) -> str:
    return f"{KEY_PREFIX}{name}"


def next_moment(instance: dg.DagsterInstance, name: str) -> float | None:
    """The earliest moment the next request of pace `name` may go (None: never used)."""
    table = _kv_table()
    with _connection(instance) as conn:
        row = conn.execute(sa.select(table.c.value).where(table.c.key == pace_key(name))).first()
    return float(row[0]) if row else None


def _try_reserve(instance: dg.DagsterInstance, key: str, interval: float, now: float) -> float | None:
    """One compare-and-set round: the moment reserved, or None when another writer won."""
    table = _kv_table()
    with _connection(instance) as conn:
        row = conn.execute(sa.select(table.c.value).where(table.c.key == key)).first()
        if row is None:
            conn.execute(table.insert().values(key=key, value=repr(now + interval)))
            return now
        moment = max(float(row[0]), now)
        updated = conn.execute(table.update().where((table.c.key == key) & (table.c.value == row[0]))
                               .values(value=repr(moment + interval)))
        return moment if updated.rowcount == 1 else None


def reserve(instance: dg.DagsterInstance, name: str, interval: float,
            clock: Callable[[], float] = time.time) -> float:
    """Reserve the next moment of pace `name` (epoch seconds, never before now) and move
    the pace on by `interval` seconds."""
    key = pace_key(name)
    for _ in range(CAS_ATTEMPTS):
        try:
            moment = with_db_retry(lambda: _try_reserve(instance, key, interval, clock()))
        except sa.exc.IntegrityError:  # another process created the row first: read it
            continue
        if moment is not None:
            return moment
    raise RuntimeError(f"pace {name}: {CAS_ATTEMPTS} writers in a row changed it first; "
                       "the instance's storage is too busy")


@dataclass(frozen=True)
class Pace:
    """`wait()` before each request to the back-end: returns the seconds it slept."""

    instance: dg.DagsterInstance
    name: str
    requests_per_minute: int

    @property
    def interval(self) -> float:
        return 60.0 / self.requests_per_minute

    def wait(self) -> float:
        moment = reserve(self.instance, self.name, self.interval)
        pause = moment - time.time()
        if pause > 0:
            time.sleep(pause)
            return round(pause, 3)
        return 0.0


def platform_pace(instance: dg.DagsterInstance, platform: str, requests_per_minute: int) -> Pace | None:
    """The shared pace of a platform's back-end; None when the catalog sets none (0)."""
    return Pace(instance, platform, requests_per_minute) if requests_per_minute > 0 else None
