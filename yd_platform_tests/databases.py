"""The databases tests run on: scratch databases on the real MariaDB server of the slow
tests, and the app database on SQLite or on that server.

MariaDB is expected at 127.0.0.1:3306 (root, no password) unless YD_TEST_MYSQL_URL points
elsewhere (a server URL without database name).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import sqlalchemy as sa

from yd_platform.resources.app_db import engine_for

MYSQL_SERVER_URL = os.environ.get("YD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new utf8mb4 database on the server; yields its URL and drops it afterwards.

    Raises `sa.exc.OperationalError` when the server does not answer."""
    name = f"yd_test_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(MYSQL_SERVER_URL)
    try:
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        try:
            yield f"{MYSQL_SERVER_URL}/{name}?charset=utf8mb4"
        finally:
            with server.begin() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        server.dispose()


@contextmanager
def app_database(kind: str, folder: Path) -> Iterator[sa.Engine]:
    """The app database, empty, as the platform opens it: "sqlite", a file in `folder`;
    "mariadb", a scratch database on the server (dropped afterwards)."""
    with ExitStack() as stack:
        url = f"sqlite:///{folder / 'app.db'}" if kind == "sqlite" else stack.enter_context(scratch_database())
        app = engine_for(url)
        stack.callback(app.dispose)
        yield app
