"""Where the platform runs: every outside system is chosen by an environment variable.

With none set, everything falls back to the embedded default, which needs no outside
service: a repo-local data folder as object store, DuckDB as table engine, SQLite as the
app database and the shops listed in the catalog.

| variable               | embedded default              | production                     |
|------------------------|-------------------------------|--------------------------------|
| YD_HOME                | <repo>/.yd_home               | a data folder for scratch/state|
| YD_OBJECT_STORE        | local                         | minio                          |
| YD_MINIO_ENDPOINT      |                               | minio:9000                     |
| YD_MINIO_ACCESS_KEY    |                               | secret                         |
| YD_MINIO_SECRET_KEY    |                               | secret                         |
| YD_MINIO_BUCKET        | warehouse                     | warehouse                      |
| YD_MINIO_SECURE        | false                         | true/false                     |
| YD_TABLE_ENGINE        | duckdb                        | dremio                         |
| YD_DREMIO_URL          |                               | http://dremio:9047             |
| YD_DREMIO_USER/PASSWORD|                               | secret                         |
| YD_APP_DB_URL          | sqlite:///<YD_HOME>/app.db    | mysql+pymysql://user:pw@host/db|
| YD_SHOPS_SOURCE        | config                        | mysql (table <platform>_shops) |
| YD_WAREHOUSE_URL       | YD_HOME/warehouse.db (SQLite) | warehouse of the dw/* tables   |
| YD_UI_URL              | http://127.0.0.1:3000         | the webserver's public URL     |
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _repo_root() -> Path | None:
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").exists() else None


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_flag(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def yd_home() -> Path:
    """Root of local state: object-store folder, SQLite files, sessions, screenshots."""
    configured = env("YD_HOME")
    if configured:
        path = Path(configured)
    else:
        root = _repo_root()
        path = (root / ".yd_home") if root else Path.home() / ".yd_platform"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def app_db_url() -> str:
    return env("YD_APP_DB_URL") or f"sqlite:///{yd_home() / 'app.db'}"


def ui_url() -> str:
    return (env("YD_UI_URL") or "http://127.0.0.1:3000").rstrip("/")
