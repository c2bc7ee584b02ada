"""`yd-platform metrics`: Prometheus text from the Dagster instance (print once, or serve)."""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _code_location():
    """(catalog, asset check keys) of the code location, read once per command.

    Importing `yd_platform.definitions` builds the definitions; the check keys come from
    that one build rather than a rebuild per scrape.
    """
    from yd_platform.catalog import load_catalog
    from yd_platform.definitions import defs

    return load_catalog(), defs.resolve_asset_graph().asset_check_keys


def _render(catalog, check_keys) -> str:
    import dagster as dg

    from yd_platform.cli.up import embedded_dagster_home
    from yd_platform.notify.metrics import render_metrics

    embedded_dagster_home()  # DAGSTER_HOME when set, else the embedded default's instance
    with dg.DagsterInstance.get() as instance:
        return render_metrics(instance, catalog, check_keys)


def serve(host: str, port: int) -> None:
    catalog, check_keys = _code_location()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            if self.path.split("?")[0] not in ("/", "/metrics"):
                self.send_error(404)
                return
            body = _render(catalog, check_keys).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    print(f"serving Prometheus metrics on http://{host}:{port}/metrics")
    ThreadingHTTPServer((host, port), Handler).serve_forever()


def metrics_cmd(args: argparse.Namespace) -> int:
    if args.serve:
        serve(args.host, args.serve)
    else:
        print(_render(*_code_location()), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("metrics", help="Prometheus metrics of runs, checks and datasets (DAGSTER_HOME instance)")
    cmd.add_argument("--serve", type=int, metavar="PORT", help="serve /metrics on this port instead of printing")
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.set_defaults(func=metrics_cmd)
