"""The application database: MySQL/MariaDB in production (`YD_APP_DB_URL`), SQLite under
YD_HOME in the embedded default.

Holds the platform's own state that is not Dagster's: the notification outbox (every
message and whether it was sent), the tag tables and rules, the tag page's audit. Stages use SQLAlchemy Core through `engine()` so the same
statements run on both.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite

from yd_platform.deployment import APP_DB_PURPOSE, APP_DB_VARIABLE, Variables, embedded_sqlite
from yd_platform.resources.variables import env_field, from_environment

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


CHECK_TIMEOUT_SECONDS = 5


def check_database(url: str) -> str:
    """Connect once with a short timeout and run `SELECT 1`: what a check of any SQL
    database the platform reaches does. Says which database (password hidden); raises
    `sa.exc.SQLAlchemyError` or `OSError` when it does not answer."""
    parsed = sa.make_url(url)
    connect_args = {"connect_timeout": CHECK_TIMEOUT_SECONDS} if parsed.get_backend_name() == "mysql" else {}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    finally:
        engine.dispose()
    kind = "embedded SQLite" if parsed.get_backend_name() == "sqlite" else "reachable"
    return f"{parsed.render_as_string(hide_password=True)} ({kind})"


class AppDatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy URL of the app database (`YD_APP_DB_URL`)."""

    url: str

    def engine(self) -> sa.Engine:
        return engine_for(self.url)

    @property
    def dialect(self) -> str:
        return sa.make_url(self.url).get_backend_name()

    def check(self) -> str:
        return check_database(self.url)


def app_db_for(variables: Variables) -> AppDatabaseResource:
    return AppDatabaseResource(url=env_field(variables, APP_DB_VARIABLE, APP_DB_PURPOSE,
                                             embedded=lambda: embedded_sqlite("app.db")))


def app_db_from_env(deployment: str | None = None) -> AppDatabaseResource:
    """The deployment's app database with its URL read now (commands, tests)."""
    return from_environment(app_db_for, deployment)


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
