"""The warehouse database: where the data warehouse keeps the per-user feature tables
(`user_basic_info`, ...) that the `warehouse` collector copies and the tags read as ODS.

`YD_WAREHOUSE_URL` is any SQLAlchemy URL; production requires it. Embedded without it,
the warehouse is the SQLite file YD_HOME/warehouse.db, which `yd-platform tags
demo-data` (and `yd-platform up` on a fresh machine) fills with demo users. The
collectors reach it through the `collector` resource's `warehouse_url` (an `EnvVar`);
commands through `warehouse_url()`. Read in this one place so the collector and the
demo data always mean the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as sa

from yd_platform.deployment import Variables, embedded_sqlite
from yd_platform.resources.variables import env_field

URL_VARIABLE = "YD_WAREHOUSE_URL"
PURPOSE = "warehouse: SQLAlchemy URL of the database holding the dw feature tables"


def warehouse_url_for(variables: Variables) -> dg.EnvVar | str:
    """The warehouse as a resource setting: `dg.EnvVar` when set, else the embedded file."""
    return env_field(variables, URL_VARIABLE, PURPOSE, embedded=lambda: embedded_sqlite("warehouse.db"))


def warehouse_url() -> str:
    """The configured warehouse, else (embedded) the SQLite file."""
    return Variables().require(URL_VARIABLE, PURPOSE, embedded=lambda: embedded_sqlite("warehouse.db"), strict=True)


def warehouse_is_configured() -> bool:
    """Whether a real warehouse is set (the embedded demo tables are then never written)."""
    return Variables().is_set(URL_VARIABLE)


@contextmanager
def warehouse_engine() -> Iterator[sa.Engine]:
    """An engine on the warehouse for one block of work, disposed afterwards (the warehouse
    is read rarely, so no pool is kept open)."""
    engine = sa.create_engine(warehouse_url())
    try:
        yield engine
    finally:
        engine.dispose()
