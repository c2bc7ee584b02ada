"""The application database: MySQL/MariaDB in production, SQLite in the embedded default.

Holds the platform's own state that is not Dagster's: notification outbox, sent-notice
records, tag tables, rules. Stages use SQLAlchemy Core through `engine()` so the same
statements run on both.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import sqlalchemy as sa


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
