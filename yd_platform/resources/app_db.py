"""The application database: MySQL/MariaDB in production, SQLite in the embedded default.

Holds the platform's own state that is not Dagster's: notification outbox, sent-notice
records, tag tables, rules. Stages use SQLAlchemy Core through `engine()` so the same
statements run on both.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite

KEY_LENGTH = 255


@lru_cache(maxsize=16)
def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_recycle=3600)


def engine_for(url: str) -> sa.Engine:
    """A shared engine per URL (one pool per process)."""
    return _engine(url)


class AppDatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy URL of the app database (`YD_APP_DB_URL`)."""

    url: str

    def engine(self) -> sa.Engine:
        return engine_for(self.url)

    @property
    def dialect(self) -> str:
        return sa.make_url(self.url).get_backend_name()


def fit_key(key: str, length: int = KEY_LENGTH) -> str:
    """`key` as stored in a `String(length)` column: a longer key keeps its start and a
    digest of the whole, so distinct keys stay distinct where cutting them would collide."""
    if len(key) <= length:
        return key
    digest = hashlib.sha1(key.encode()).hexdigest()
    return f"{key[:length - len(digest) - 1]}#{digest}"


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> int:
    """Insert rows whose primary or unique key is new, in one statement per row on SQLite
    and MariaDB alike; existing ones are left untouched. Returns how many were inserted."""
    if not rows:
        return 0
    name = conn.dialect.name
    if name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    elif name in ("mysql", "mariadb"):
        stmt = mysql.insert(table).prefix_with("IGNORE")
    else:  # pragma: no cover - other back-ends are not deployed
        stmt = sa.insert(table)
    return sum(conn.execute(stmt, [row]).rowcount for row in rows)
