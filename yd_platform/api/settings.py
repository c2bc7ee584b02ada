"""Settings of the API service, all from the environment.

| variable             | meaning                                                          |
|----------------------|------------------------------------------------------------------|
| YD_API_KEY           | key callers send in the `X-API-Key` header (all but /health);    |
|                      | without it the service binds 127.0.0.1 only                      |
| YD_API_ALLOWED_HOSTS | host names callers may reach the service by, besides localhost,  |
|                      | 127.0.0.1, [::1] and the bound address: `api.example.com`,       |
|                      | `10.0.0.5:8000`, `*.example.com`; comma- or space-separated      |
| YD_UI_URL            | the Dagster webserver whose GraphQL API runs go through          |
| YD_APP_DB_URL        | the app database (tag tables); embedded default: SQLite          |

`environment` (reported by /health and the tag tasks, as the old tag service reported
its `--env`) is the deployment `YD_DEPLOYMENT` names: `embedded` (the default) or
`production` (`yd_platform.deployment.current_deployment`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yd_platform.deployment import EMBEDDED, app_db_url, current_deployment, env, ui_url

API_KEY_HEADER = "X-API-Key"
LOOPBACK = "127.0.0.1"
ALLOWED_HOSTS_VARIABLE = "YD_API_ALLOWED_HOSTS"


@dataclass(frozen=True)
class ApiSettings:
    dagster_url: str
    app_db_url: str
    api_key: str | None = None
    timeout: float = 30.0
    allowed_hosts: tuple[str, ...] = ()
    bind_host: str = LOOPBACK
    environment: str = EMBEDDED

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(dagster_url=ui_url(), app_db_url=app_db_url(), api_key=env("YD_API_KEY"),
                   allowed_hosts=tuple(h for h in re.split(r"[,\s]+", env(ALLOWED_HOSTS_VARIABLE, "")) if h),
                   environment=current_deployment())


def safe_host(requested: str, settings: ApiSettings) -> tuple[str, str | None]:
    """The host to bind and, when it differs from the one asked for, why.

    Without an API key nothing guards the endpoints, so the service stays on loopback.
    """
    if settings.api_key or requested in (LOOPBACK, "localhost", "::1"):
        return requested, None
    return LOOPBACK, (f"YD_API_KEY is not set: binding {LOOPBACK} instead of {requested}, "
                      "so only this machine can call the API. Set YD_API_KEY to serve other hosts.")
