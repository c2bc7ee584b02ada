"""`yd-platform api`: serve the HTTP API (tag tasks, scheduler) with uvicorn."""

from __future__ import annotations

import argparse
import dataclasses

from yd_platform.api.settings import API_KEY_HEADER, ApiSettings, safe_host


def register(sub) -> None:
    p = sub.add_parser("api", help="serve the HTTP API for tag tasks and the scheduler (FastAPI; docs at /docs)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (anything but loopback needs YD_API_KEY)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from yd_platform.api.app import create_app

    settings = ApiSettings.from_env()
    host, warning = safe_host(args.host, settings)
    if warning:
        print(warning, flush=True)
    settings = dataclasses.replace(settings, bind_host=host)
    try:
        app = create_app(settings)
    except ValueError as exc:  # a malformed YD_API_ALLOWED_HOSTS entry
        print(f"yd-platform api: {exc}", flush=True)
        return 2
    guard = f"key required in the {API_KEY_HEADER} header" if settings.api_key else "no key (loopback only)"
    print(f"yd-platform api on http://{host}:{args.port} (docs /docs), Dagster at {settings.dagster_url}, "
          f"{guard}; answers to hosts: {app.state.allowed_hosts.describe()}", flush=True)
    uvicorn.run(app, host=host, port=args.port, log_level="info")
    return 0
