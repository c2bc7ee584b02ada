"""One writer at a time for user_tags.

A run reads the users' current tags, merges its result and writes them back. Two runs
doing that at once (automation after new ODS partitions and a run launched by hand) could
each write a merge that misses the other's tags, so the read-merge-write is held under a
lock the database server or file system keeps for every process: MariaDB/MySQL's named
lock (`GET_LOCK`), or a lock file beside the SQLite database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from filelock import FileLock, Timeout

LOCK_NAME = "yd_user_tags"
WAIT_SECONDS = 600
_in_memory = threading.Lock()


class UserTagsLockTimeout(TimeoutError):
    """Another run kept the user_tags write lock for longer than the wait."""


def _busy(where: str, timeout: float) -> UserTagsLockTimeout:
    return UserTagsLockTimeout(
        f"user_tags: another run held the write lock ({where}) for more than {timeout:g}s; "
        "it is still writing, try again when it has finished")


@contextmanager
def _mysql_lock(engine: sa.Engine, timeout: float) -> Iterator[None]:
    # Named locks are server-wide: the database name keeps two databases apart (64 chars max).
    name = f"{LOCK_NAME}.{engine.url.database or ''}"[:64]
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": timeout}).scalar()
        if got != 1:
            raise _busy(f"MySQL lock {name}", timeout)
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})


@contextmanager
def user_tags_writer(engine: sa.Engine, timeout: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the user_tags write lock of this app database for the block."""
    if engine.dialect.name in ("mysql", "mariadb"):
        with _mysql_lock(engine, timeout):
            yield
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        path = f"{database}.{LOCK_NAME}.lock"
        try:
            with FileLock(path, timeout=timeout):
                yield
        except Timeout as exc:
            raise _busy(f"lock file {path}", timeout) from exc
        return
    if not _in_memory.acquire(timeout=timeout):
        raise _busy("in-process lock", timeout)
    try:
        yield
    finally:
        _in_memory.release()
