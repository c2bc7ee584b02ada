"""The table engine resource: which engine serves the ODS tables, and its settings.

- `duckdb` (embedded default): in-process, reading the object store itself
  (`tables.duckdb_engine`); nothing to connect to, nothing to set.
- `dremio` (production default): Dremio's REST API (`resources.dremio`) at
  `YD_DREMIO_URL`, logged in as `YD_DREMIO_USER` / `YD_DREMIO_PASSWORD` or with the
  personal access token `YD_DREMIO_TOKEN`.

How a written partition becomes visible in the engine is the tables stage's
(`tables.refresh`).
"""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from yd_platform.deployment import Variables
from yd_platform.resources.dremio import DremioClient
from yd_platform.resources.variables import env_field, from_environment

ENGINE_VARIABLE = "YD_TABLE_ENGINE"
URL_VARIABLE = "YD_DREMIO_URL"
USER_VARIABLE = "YD_DREMIO_USER"
PASSWORD_VARIABLE = "YD_DREMIO_PASSWORD"
TOKEN_VARIABLE = "YD_DREMIO_TOKEN"
TIMEOUT_VARIABLE = "YD_DREMIO_TIMEOUT_SECONDS"
CHECK_TIMEOUT_SECONDS = 5


class TableEngineResource(dg.ConfigurableResource):
    """The engine of the ODS tables and how to reach it."""

    engine: Literal["duckdb", "dremio"] = "duckdb"
    dremio_url: str = Field(default="", description=f"Dremio's URL ({URL_VARIABLE})")
    dremio_user: str = Field(default="", description=f"Dremio user ({USER_VARIABLE})")
    dremio_password: str = Field(default="", description=f"Dremio password ({PASSWORD_VARIABLE})")
    dremio_token: str = Field(default="", description=f"personal access token, instead of user/password "
                                                      f"({TOKEN_VARIABLE})")
    dremio_promote: bool = Field(default=True, description="AUTO PROMOTION: promote the folder on first refresh")
    dremio_timeout_seconds: float = Field(default=300.0, description=f"longest wait for a job ({TIMEOUT_VARIABLE})")
    dremio_poll_seconds: float = 1.0

    def dremio(self, request_timeout: float = 30.0) -> DremioClient:
        return DremioClient(self.dremio_url, self.dremio_user, self.dremio_password, self.dremio_token,
                            timeout_seconds=self.dremio_timeout_seconds, poll_seconds=self.dremio_poll_seconds,
                            request_timeout=request_timeout)

    def check(self) -> str:
        """DuckDB runs a query, or Dremio answers and accepts the login. Says what it found;
        raises (DremioError, duckdb's error) naming the problem."""
        if self.engine == "duckdb":
            import duckdb

            duckdb.connect().execute("SELECT 1").fetchall()
            return f"duckdb {duckdb.__version__} (in process)"
        client = self.dremio(request_timeout=CHECK_TIMEOUT_SECONDS)
        client.server_status()
        client.login()
        return f"dremio {client.url}, logged in" + (f" as {client.user}" if not self.dremio_token else " with a token")


def table_engine_for(variables: Variables) -> TableEngineResource:
    """Embedded: DuckDB unless YD_TABLE_ENGINE=dremio. Production: Dremio unless
    YD_TABLE_ENGINE=duckdb; its URL and a login (user and password, or a token) required."""
    engine = variables.choice(ENGINE_VARIABLE, ("duckdb", "dremio"), embedded="duckdb", production="dremio")
    if engine == "duckdb":
        return TableEngineResource(engine="duckdb")
    url = env_field(variables, URL_VARIABLE, "table engine: Dremio's URL, e.g. http://dremio:9047")
    if variables.production and not variables.is_set(TOKEN_VARIABLE) \
            and not (variables.is_set(USER_VARIABLE) and variables.is_set(PASSWORD_VARIABLE)):
        variables.record_missing(f"{USER_VARIABLE} and {PASSWORD_VARIABLE} (or {TOKEN_VARIABLE})",
                                 "table engine: Dremio's login")
    return TableEngineResource(
        engine="dremio",
        dremio_url=url,
        dremio_user=env_field(variables, USER_VARIABLE),
        dremio_password=env_field(variables, PASSWORD_VARIABLE),
        dremio_token=env_field(variables, TOKEN_VARIABLE),
        dremio_timeout_seconds=variables.number(TIMEOUT_VARIABLE, 300.0, float),
    )


def table_engine_from_env(deployment: str | None = None) -> TableEngineResource:
    """The deployment's table engine with its settings read now (commands, tests)."""
    return from_environment(table_engine_for, deployment)
