"""`yd-platform metrics`: Prometheus metrics of the Dagster instance (print once, or serve).

Serving uses `prometheus_client`'s own HTTP server; the collector behind it keeps what it
read, so each scrape reads only the runs and check evaluations that changed since.
"""

from __future__ import annotations

import argparse
import threading


def _code_location():
    """(catalog, asset check keys) of the code location, read once per command.

    Importing `yd_platform.definitions` builds the definitions; the check keys come from
    that one build rather than a rebuild per scrape.
    """
    from yd_platform.catalog import load_catalog
    from yd_platform.definitions import defs

    return load_catalog(), defs.resolve_asset_graph().asset_check_keys


def _instance():
    from yd_platform.cli.instance_home import open_instance

    return open_instance()  # DAGSTER_HOME when set, else the embedded default's instance


def metrics_cmd(args: argparse.Namespace) -> int:
    from prometheus_client import generate_latest, start_http_server

    from yd_platform.monitoring.instance_metrics import registry_for

    catalog, check_keys = _code_location()
    with _instance() as instance:
        registry, _ = registry_for(instance, catalog, check_keys, min_interval=args.min_interval)
        if not args.serve:
            print(generate_latest(registry).decode(), end="")
            return 0
        server, thread = start_http_server(args.serve, addr=args.host, registry=registry)
        print(f"serving Prometheus metrics on http://{args.host}:{args.serve}/metrics", flush=True)
        try:
            threading.Event().wait()
        finally:
            server.shutdown()
            thread.join(5)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("metrics", help="Prometheus metrics of runs, checks and datasets (DAGSTER_HOME instance)")
    cmd.add_argument("--serve", type=int, metavar="PORT", help="serve /metrics on this port instead of printing")
    cmd.add_argument("--host", default="127.0.0.1", help="address --serve listens on (default 127.0.0.1)")
    cmd.add_argument("--min-interval", type=float, default=15.0, metavar="SECONDS",
                     help="scrapes closer together than this get the previous figures (default 15)")
    cmd.set_defaults(func=metrics_cmd)
