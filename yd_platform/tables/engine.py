"""The table engine resource: which engine serves the ODS tables and how a written
partition becomes visible in it.

- `duckdb` (embedded default): nothing to register; the refresh reads the written
  partitions back through DuckDB and fails if the row counts differ.
- `dremio` (production): `ALTER TABLE ... REFRESH METADATA`, then the table's reflections
  (see `tables.dremio`), through the REST API.
"""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from yd_platform.catalog import DatasetSpec
from yd_platform.settings import env


class TableRefreshError(RuntimeError):
    """The engine does not see the partition as it was written."""


class TableEngineResource(dg.ConfigurableResource):
    """Refreshes an ODS table after its partitions were (re)written."""

    engine: Literal["duckdb", "dremio"] = "duckdb"
    dremio_url: str = ""
    dremio_user: str = ""
    dremio_password: str = ""
    dremio_token: str = Field(default="", description="personal access token (instead of user/password)")
    dremio_promote: bool = Field(default=True, description="AUTO PROMOTION: promote the folder on first refresh")
    dremio_timeout_seconds: float = 300.0
    dremio_poll_seconds: float = 1.0

    def dremio(self):
        from yd_platform.tables.dremio import DremioClient

        return DremioClient(self.dremio_url, self.dremio_user, self.dremio_password, self.dremio_token,
                            timeout_seconds=self.dremio_timeout_seconds, poll_seconds=self.dremio_poll_seconds)

    def refresh(self, ds: DatasetSpec, written: dict[str, int], object_store) -> dict[str, object]:
        """Make the written partitions ({key: rows}) visible; returns metadata about it."""
        if self.engine == "dremio":
            job, reflections = self.dremio().refresh(ds.table, promote=self.dremio_promote)
            return {"engine": "dremio", "refresh_job": job.id, "refresh_sql": job.sql,
                    "reflections_refreshed": ", ".join(reflections.reflections)}
        from yd_platform.tables.duckdb_engine import DuckDBTables

        tables = DuckDBTables([ds], object_store)
        try:
            seen = tables.partition_rows(ds, list(written))
        finally:
            tables.close()
        wrong = {k: (written[k], seen[k]) for k in written if seen[k] != written[k]}
        if wrong:
            raise TableRefreshError(f"{ds.table}: DuckDB reads other row counts than were written "
                                    f"(partition: (written, read)) {wrong}")
        return {"engine": "duckdb"}


def table_engine_from_env(as_env_vars: bool = False) -> TableEngineResource:
    """The engine YD_TABLE_ENGINE chooses, with its settings read from the environment.

    `as_env_vars=True` is the form registered as the `table_engine` resource: URL, user,
    password and token are `dg.EnvVar`s resolved in each run, so the UI and run config
    show the variable names, never the password. Plain values otherwise (commands).
    """
    def text(name: str) -> str:
        return dg.EnvVar(name) if as_env_vars and env(name) else env(name, "")

    engine = env("YD_TABLE_ENGINE") or "duckdb"
    if engine not in ("duckdb", "dremio"):
        raise ValueError(f"YD_TABLE_ENGINE={engine!r}: use 'duckdb' or 'dremio'")
    if engine == "duckdb":
        return TableEngineResource(engine="duckdb")
    return TableEngineResource(
        engine="dremio",
        dremio_url=text("YD_DREMIO_URL"),
        dremio_user=text("YD_DREMIO_USER"),
        dremio_password=text("YD_DREMIO_PASSWORD"),
        dremio_token=text("YD_DREMIO_TOKEN"),
        dremio_timeout_seconds=float(env("YD_DREMIO_TIMEOUT_SECONDS", "300")),
    )
