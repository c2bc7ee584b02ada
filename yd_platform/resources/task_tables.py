"""The old task tables (`pdd_tasks`, `tm_tasks`): read which shop finished which period,
and write the platform's outcomes back for the tools that still read them.

The old task generator kept one row per `(time_period, shop_name)` and one status
column per dataset (`待执行` pending, `已完成` done); rows were created with `INSERT
IGNORE` and a status was set only where empty, so a finished task was never reset. This
resource keeps those rules: a period a shop finished counts as collected (the schedules
do not request it again), the platform's own success sets `done`, a failure sets the
failure word only where the column is not `done`.

Which table, which columns and the switches per platform are in
`config/task_tables.yaml`. A platform without an entry, with the switch off, or whose
table does not exist in the database is left alone; a configured status column the table
lacks is an error naming table and column.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import dagster as dg
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yd_platform.catalog import Cadence, DatasetSpec
from yd_platform.catalog.periods import Period
from yd_platform.catalog.yaml_files import read_yaml
from yd_platform.deployment import app_db_url, env
from yd_platform.resources.app_db import engine_for, insert_ignore

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "task_tables.yaml"
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PERIOD_COLUMN, SHOP_COLUMN, UPDATED_COLUMN = "time_period", "shop_name", "update_time"


class TaskTablesConfigError(ValueError):
    """task_tables.yaml is wrong; the message says where."""


class TaskTableError(RuntimeError):
    """A configured task table cannot be used; the message names table, column and database."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformTaskTable(_Model):
    table: str
    read: bool = Field(default=True, description="finished periods count as collected")
    write: bool = Field(default=True, description="the platform writes its outcomes back")
    status_columns: dict[str, str] = Field(default_factory=dict, description="dataset code -> status column")

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        if not IDENT.match(value):
            raise ValueError(f"table {value!r} must be a plain table name")
        return value

    @field_validator("status_columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(c for c in value.values() if not IDENT.match(c))
        if bad:
            raise ValueError(f"status columns {bad} must be plain column names")
        return value


class TaskTablesConfig(_Model):
    done: str = "已完成"
    failed: str = "待执行"
    platforms: dict[str, PlatformTaskTable] = Field(default_factory=dict)


@lru_cache(maxsize=4)
def load_task_tables_config(path: str | None = None) -> TaskTablesConfig:
    file = Path(path) if path else DEFAULT_CONFIG
    data = read_yaml(file, TaskTablesConfigError)
    try:
        return TaskTablesConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
        raise TaskTablesConfigError(f"{file.name}: {problems}") from None


def period_spellings(period: Period) -> list[str]:
    """How the old tables spelled a period: the generator's label (`2025-09`,
    `2025-09-24_2025-09-30`), and first/last day as the old monthly crawler did."""
    return list(dict.fromkeys([period.label, period.span if period.cadence is not Cadence.daily else period.key]))


class TaskTablesResource(dg.ConfigurableResource):
    """The database holding the old task tables (`YD_TASK_TABLES_DB_URL`, else the shops
    database, else the app database) and the file saying which tables and columns."""

    db_url: str
    config_path: str = ""

    def settings(self) -> TaskTablesConfig:
        return load_task_tables_config(self.config_path or None)

    def platform_table(self, platform: str) -> PlatformTaskTable | None:
        return self.settings().platforms.get(platform)

    def table_for(self, ds: DatasetSpec, purpose: Literal["read", "write"]) -> tuple[sa.Table, str] | None:
        """(reflected table, status column) of the dataset, or None when it is not in use."""
        entry = self.platform_table(ds.platform)
        if entry is None or not getattr(entry, purpose) or ds.code not in entry.status_columns:
            return None
        engine = engine_for(self.db_url)
        try:
            if not sa.inspect(engine).has_table(entry.table):
                return None
            table = sa.Table(entry.table, sa.MetaData(), autoload_with=engine)
        except sa.exc.SQLAlchemyError as exc:
            raise TaskTableError(f"task table {entry.table!r} in {engine.url.render_as_string()}: "
                                 f"{exc.__class__.__name__}: {exc}") from None
        column = entry.status_columns[ds.code]
        missing = [c for c in (PERIOD_COLUMN, SHOP_COLUMN, column) if c not in table.c]
        if missing:
            raise TaskTableError(
                f"task table {entry.table!r} in {engine.url.render_as_string()} has no column(s) {missing} "
                f"(columns: {', '.join(table.c.keys())}); fix status_columns.{ds.code} of platform "
                f"{ds.platform!r} in task_tables.yaml or set its read/write to false")
        return table, column

    def finished_names(self, ds: DatasetSpec, period: Period) -> dict[str, str]:
        """{shop name: where it says so} of the shops that finished `period` in the old table."""
        found = self.table_for(ds, "read")
        if found is None:
            return {}
        table, column = found
        done = self.settings().done
        query = (sa.select(table.c[SHOP_COLUMN])
                 .where(sa.cast(table.c[PERIOD_COLUMN], sa.String(32)).in_(period_spellings(period)))
                 .where(table.c[column] == done))
        try:
            with engine_for(self.db_url).connect() as conn:
                names = [str(n).strip() for n in conn.execute(query).scalars()]
        except sa.exc.SQLAlchemyError as exc:
            raise TaskTableError(f"reading task table {table.name!r}: {exc.__class__.__name__}: {exc}") from None
        return {n: f"{table.name}.{column} = {done}" for n in names if n}

    def record(self, ds: DatasetSpec, period: Period, shop_name: str, succeeded: bool) -> str | None:
        """Write one outcome: the row is inserted if missing (`INSERT IGNORE`), success sets
        `done`, failure sets the failure word unless the column is `done`. Returns the
        status now in the column, or None when the dataset's table is not in use."""
        found = self.table_for(ds, "write")
        if found is None:
            return None
        table, column = found
        settings = self.settings()
        period_value: object = period.label
        if isinstance(table.c[PERIOD_COLUMN].type, sa.Date) and period.cadence is Cadence.daily:
            period_value = date.fromisoformat(period.label)
        key = (table.c[PERIOD_COLUMN] == period_value) & (table.c[SHOP_COLUMN] == shop_name)
        values: dict[str, object] = {column: settings.done if succeeded else settings.failed}
        if UPDATED_COLUMN in table.c:
            values[UPDATED_COLUMN] = sa.func.now()
        update = sa.update(table).where(key).values(**values)
        if not succeeded:
            update = update.where(sa.or_(table.c[column].is_(None), table.c[column] != settings.done))
        try:
            with engine_for(self.db_url).begin() as conn:
                insert_ignore(conn, table, [{PERIOD_COLUMN: period_value, SHOP_COLUMN: shop_name}])
                conn.execute(update)
                return conn.execute(sa.select(table.c[column]).where(key)).scalar_one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            raise TaskTableError(f"writing task table {table.name!r}: {exc.__class__.__name__}: {exc}") from None


URL_VARIABLES = ("YD_TASK_TABLES_DB_URL", "YD_SHOPS_DB_URL", "YD_APP_DB_URL")


def task_tables_from_env(as_env_vars: bool = False) -> TaskTablesResource:
    """The old task tables' database: the first of YD_TASK_TABLES_DB_URL, YD_SHOPS_DB_URL
    (the old tables sit beside the shops tables) and the app database. `as_env_vars=True`
    is the registered resource's form (the UI shows the variable, never the URL)."""
    for name in URL_VARIABLES:
        if env(name):
            return TaskTablesResource(db_url=dg.EnvVar(name) if as_env_vars else env(name))
    return TaskTablesResource(db_url=app_db_url())
