"""The FastAPI application: routers, the host/origin guard, the API-key guard and the
error mapping.

Every request passes the host/origin guard first (host_origin_guard.py: foreign `Host`
400, cross-site changes 403), whichever router answers it, with or without a key. A
router is added with one `include_router` line; `guarded` adds the key check.

Errors callers rely on: an invalid body of the new modes is 422 naming the field
(FastAPI's own validation), an old-style body the old service's 400 `{success, error,
message}`, an unknown task 404, a wrong or missing key 401, the Dagster webserver or the
app database down 503 with its address.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from yd_platform.api import health, scheduler, tag_admin, tags
from yd_platform.api.dagster_api import DagsterApi, DagsterQueryError, DagsterUnavailable
from yd_platform.api.host_origin_guard import AllowedHosts, HostOriginGuard
from yd_platform.api.settings import API_KEY_HEADER, ApiSettings
from yd_platform.api.trigger_body import Refusal
from yd_platform.resources.dagster_webserver import LaunchError

api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description="the key set in YD_API_KEY on the server")


def require_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    expected = request.app.state.settings.api_key
    if expected and not (key and hmac.compare_digest(key.encode(), expected.encode())):
        raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


def _failure(status: int, problem: str) -> JSONResponse:
    """`detail` for new callers, `error`/`message` as the old tag service answered a failure."""
    return JSONResponse({"success": False, "error": problem, "message": "服务暂不可用", "detail": problem},
                        status_code=status)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    app = FastAPI(title="yd_platform API",
                  description="User-tag tasks and the operations scheduler, over the Dagster GraphQL API. "
                              f"Send the key in the `{API_KEY_HEADER}` header (all but /health).",
                  version="1")
    app.state.settings = settings
    app.state.dagster = DagsterApi(settings.dagster_url, timeout=settings.timeout)
    app.state.allowed_hosts = AllowedHosts(settings.bind_host, settings.allowed_hosts)
    app.add_middleware(HostOriginGuard, allowed=app.state.allowed_hosts)

    guarded = [Depends(require_key)]
    app.include_router(health.router)
    app.include_router(tags.router, dependencies=guarded)
    app.include_router(scheduler.router, dependencies=guarded)
    app.include_router(tag_admin.router)  # the tag page: its own key check names the actor

    @app.exception_handler(Refusal)
    def _refused(_request: Request, exc: Refusal) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(DagsterUnavailable)
    def _dagster_down(_request: Request, exc: DagsterUnavailable) -> JSONResponse:
        return _failure(503, str(exc))

    @app.exception_handler(DagsterQueryError)
    @app.exception_handler(LaunchError)
    def _dagster_refused(_request: Request, exc: Exception) -> JSONResponse:
        return _failure(502, f"the Dagster webserver refused: {exc}")

    @app.exception_handler(SQLAlchemyError)
    def _app_db_down(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = make_url(settings.app_db_url).render_as_string(hide_password=True)
        return _failure(503, f"the app database at {where} is not reachable: {reason}")

    return app
