"""The PMS database resource: the operators' MySQL (`YD_PMS_DB_URL`) or the embedded SQLite."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from yd_platform.pms.schema import create_missing
from yd_platform.resources.app_db import engine_for
from yd_platform.settings import env, yd_home

_prepared: set[str] = set()


def default_pms_url() -> str:
    return f"sqlite:///{yd_home() / 'pms.db'}"


def pms_db_url() -> str:
    return env("YD_PMS_DB_URL") or default_pms_url()


def pms_engine(url: str) -> sa.Engine:
    """A shared engine; the embedded SQLite database gets its missing tables on first use (an
    operator's database is only changed by `yd-platform pms init-db`)."""
    engine = engine_for(url)
    if url.startswith("sqlite") and url not in _prepared:
        create_missing(engine)
        _prepared.add(url)
    return engine


class PmsDatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy URL of the project-management system's database (`YD_PMS_DB_URL`)."""

    url: str

    def engine(self) -> sa.Engine:
        return pms_engine(self.url)


def pms_db_from_env() -> PmsDatabaseResource:
    return PmsDatabaseResource(url=dg.EnvVar("YD_PMS_DB_URL") if env("YD_PMS_DB_URL") else default_pms_url())
