"""The FastAPI application: routers, the API-key guard and the error mapping.

Errors callers rely on: an invalid body is 422 naming the field (FastAPI's own
validation), an unknown task 404, the Dagster webserver down 503 with its URL.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from sqlalchemy.exc import SQLAlchemyError

from yd_platform.api import health, scheduler, tags
from yd_platform.api.dagster_api import DagsterApi, DagsterQueryError, DagsterUnavailable
from yd_platform.api.settings import API_KEY_HEADER, ApiSettings
from yd_platform.launch import LaunchError

api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description="the key set in YD_API_KEY on the server")


def require_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    expected = request.app.state.settings.api_key
    if expected and not (key and hmac.compare_digest(key.encode(), expected.encode())):
        raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header",
                            headers={"WWW-Authenticate": API_KEY_HEADER})


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings.from_env()
    app = FastAPI(title="yd_platform API",
                  description="User-tag tasks and the operations scheduler, over the Dagster GraphQL API. "
                              f"Send the key in the `{API_KEY_HEADER}` header (all but /health).",
                  version="1")
    app.state.settings = settings
    app.state.dagster = DagsterApi(settings.dagster_url, timeout=settings.timeout)

    app.include_router(health.router)
    guarded = [Depends(require_key)]
    app.include_router(tags.router, dependencies=guarded)
    app.include_router(scheduler.router, dependencies=guarded)

    @app.exception_handler(DagsterUnavailable)
    def _dagster_down(_request: Request, exc: DagsterUnavailable) -> JSONResponse:
        return JSONResponse({"success": False, "detail": str(exc)}, status_code=503)

    @app.exception_handler(DagsterQueryError)
    @app.exception_handler(LaunchError)
    def _dagster_refused(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"success": False, "detail": f"the Dagster webserver refused: {exc}"},
                            status_code=502)

    @app.exception_handler(SQLAlchemyError)
    def _app_db_down(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return JSONResponse({"success": False, "detail": f"the app database is not reachable: {reason}"},
                            status_code=503)

    return app
