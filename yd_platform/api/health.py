"""`/health`: is every part the API stands on reachable (no key needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from yd_platform.api.dagster_api import DagsterApi, DagsterQueryError, DagsterUnavailable
from yd_platform.resources.app_db import engine_for

router = APIRouter(tags=["health"])


def _webserver_and_daemon(api: DagsterApi) -> tuple[dict, dict]:
    try:
        health = api.daemon_health()
    except (DagsterUnavailable, DagsterQueryError) as exc:
        down = {"ok": False, "error": str(exc)}
        return down, {"ok": False, "error": "unknown: the webserver did not answer"}
    unhealthy = sorted(name for name, ok in health["daemons"].items() if not ok)
    daemon = {"ok": bool(health["daemons"]) and not unhealthy, "daemons": health["daemons"]}
    if unhealthy:
        daemon["error"] = f"daemons without a recent heartbeat: {', '.join(unhealthy)} (is `dagster-daemon run` up?)"
    return {"ok": True, "url": api.url, "version": health["version"]}, daemon


def _app_database(url: str) -> dict:
    try:
        with engine_for(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return {"ok": False, "error": f"app database not reachable: {type(exc).__name__}: "
                                      f"{str(exc.orig if hasattr(exc, 'orig') else exc).splitlines()[0]}"}
    return {"ok": True, "dialect": sa.make_url(url).get_backend_name()}


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """200 when the webserver, the daemon and the app database all answer, else 503; with
    the old tag service's `status`, `timestamp` and `environment`."""
    settings = request.app.state.settings
    webserver, daemon = _webserver_and_daemon(request.app.state.dagster)
    checks: dict[str, Any] = {"webserver": webserver, "daemon": daemon,
                              "app_database": _app_database(settings.app_db_url)}
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "healthy" if ok else "unhealthy",
                         "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                         "environment": settings.environment, "checks": checks},
                        status_code=200 if ok else 503)
