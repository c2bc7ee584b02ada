"""The PMS database (`pms_db`): the project-management system's MySQL the PMS services
read and write (`YD_PMS_DB_URL`, required in production), or embedded the SQLite file
YD_HOME/pms.db.

The PMS stage gives the embedded file its tables on first use (`pms.schema.pms_engine`);
an operator's database is only changed by `yd-platform pms init-db`.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from yd_platform.deployment import Variables, embedded_sqlite
from yd_platform.resources.app_db import check_database, engine_for
from yd_platform.resources.variables import env_field, from_environment

URL_VARIABLE = "YD_PMS_DB_URL"
PURPOSE = "PMS database: SQLAlchemy URL of the project-management system's MySQL"


class PmsDatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy URL of the project-management system's database (`YD_PMS_DB_URL`)."""

    url: str

    def engine(self) -> sa.Engine:
        """A shared engine (tables as they are; see `pms.schema.pms_engine` for the embedded file)."""
        return engine_for(self.url)

    def check(self) -> str:
        return check_database(self.url)


def pms_db_for(variables: Variables) -> PmsDatabaseResource:
    return PmsDatabaseResource(url=env_field(variables, URL_VARIABLE, PURPOSE,
                                             embedded=lambda: embedded_sqlite("pms.db")))


def pms_db_from_env(deployment: str | None = None) -> PmsDatabaseResource:
    """The deployment's PMS database with its URL read now (commands, tests)."""
    return from_environment(pms_db_for, deployment)


def pms_db_url() -> str:
    return pms_db_from_env().url
