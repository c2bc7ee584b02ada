"""`yd-platform run` and `yd-platform up`: the embedded default.

`run` executes what the schedules would request on a day (collect every shop, then
merge and publish) in-process on the local instance. `up` prepares the embedded
instance, starts the Dagster webserver and daemon (`dagster dev`), then submits today's
daily plan (day T in Asia/Shanghai) to the webserver: ordinary runs of the code location,
queued and started by the daemon like a schedule tick's, after which merged, ods, their
checks and user_tags follow by automation. Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import date
from pathlib import Path

from yd_platform.settings import PACKAGE_DIR, yd_home

EMBEDDED_INSTANCE_YAML = """\
# Embedded default instance: SQLite storage under this folder.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: yd/account
        limit: 1
        value:
          applyLimitPerUniqueValue: true
auto_materialize:
  use_sensors: true
"""


def embedded_dagster_home() -> Path:
    """DAGSTER_HOME of the embedded default, created with its instance config."""
    home = Path(os.environ.get("DAGSTER_HOME") or yd_home() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(EMBEDDED_INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a day's plan in-process on the embedded instance")
    run.add_argument("--date", type=date.fromisoformat, default=None,
                     help="tick day T (default: today in Asia/Shanghai)")
    run.add_argument("--schedule", default="daily", choices=["daily", "weekly", "monthly", "all"])
    run.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET",
                     help="only these datasets (default: every one that ticks that day)")
    run.add_argument("--platforms", nargs="+", metavar="PLATFORM")
    run.set_defaults(func=run_cmd)

    up = sub.add_parser("up", help="embedded default: serve the UI and daemon, then submit today's daily plan")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", default="3000")
    up.add_argument("--skip-run", action="store_true", help="start the UI without submitting today's plan")
    up.add_argument("--date", type=date.fromisoformat, default=None,
                    help="tick day T of the plan (default: today in Asia/Shanghai)")
    up.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET")
    up.add_argument("--startup-timeout", type=float, default=300.0,
                    help="seconds to wait for the webserver to load the code location")
    up.add_argument("--api-port", type=int, default=8000,
                    help="port of the HTTP API (yd-platform api) started beside the UI; 0: do not start it")
    up.set_defaults(func=up_cmd)


def todays_plans(day: date | None, schedule: str = "daily", datasets: list[str] | None = None,
                 platforms: list[str] | None = None):
    """Sync the shops into the instance and plan `day` (default: today in Shanghai)."""
    import dagster as dg

    from yd_platform.catalog import load_catalog
    from yd_platform.pipeline.plan import plan_day, platform_today
    from yd_platform.pipeline.shops_sensor import sync_shops
    from yd_platform.resources.core import shop_source_from_env

    catalog = load_catalog()
    day = day or platform_today(catalog)
    with dg.DagsterInstance.get() as instance:
        shops = sync_shops(instance, catalog, shop_source_from_env())
    plans = plan_day(catalog, day, lambda p: shops[p], schedule, platforms)
    if datasets:
        plans = [p for p in plans if f"{p.dataset.platform}/{p.dataset.code}" in set(datasets)]
    return catalog, day, plans


def run_day(day: date | None, schedule: str = "daily", datasets: list[str] | None = None,
            platforms: list[str] | None = None) -> bool:
    import dagster as dg

    from yd_platform.definitions import defs
    from yd_platform.pipeline.local_run import run_chain

    embedded_dagster_home()
    _catalog, day, plans = todays_plans(day, schedule, datasets, platforms)
    ok = True
    with dg.DagsterInstance.get() as instance:
        for plan in plans:
            result = run_chain(defs, instance, plan)
            ok &= result.success
            state = "ok" if result.success else "FAILED"
            failed = [s for s, good in result.collected.items() if not good]
            print(f"{state:6} {plan.dataset.platform}/{plan.dataset.code} {plan.period.label} "
                  f"shops={len(plan.shops)}" + (f" failed={failed}" if failed else ""), flush=True)
    if not plans:
        print(f"nothing is scheduled on {day} for this selection")
    return ok


def run_cmd(args: argparse.Namespace) -> int:
    return 0 if run_day(args.date, args.schedule, args.datasets, args.platforms) else 1


def submit_plan(url: str, day: date | None, datasets: list[str] | None) -> list[str]:
    """Submit the day's collect runs to the webserver, as the schedules would request them.

    Shops whose raw partition is already in are skipped, so running `up` again the same
    day downloads nothing twice. Returns the run ids.
    """
    import dagster as dg

    from yd_platform.launch import RunLauncher
    from yd_platform.pipeline.assets import raw_key
    from yd_platform.pipeline.jobs import collect_job_name
    from yd_platform.pipeline.plan import shop_accounts

    catalog, day, plans = todays_plans(day, "daily", datasets)
    print(f"Submitting the daily plan for {day} (Asia/Shanghai) ...", flush=True)
    launcher = RunLauncher(url)
    run_ids = []
    with dg.DagsterInstance.get() as instance:
        for plan in plans:
            done = instance.get_materialized_partitions(raw_key(plan.dataset))
            for request in plan.run_requests(shop_accounts(catalog, plan.dataset.platform)):
                partition = str(request.partition_key)
                if partition in done:
                    continue
                run_ids.append(launcher.submit(collect_job_name(plan.dataset), partition, request.tags))
                print(f"  queued {plan.dataset.platform}/{plan.dataset.code} {partition}", flush=True)
    if not plans:
        print(f"  nothing is scheduled on {day}")
    return run_ids


def prepare_tags() -> None:
    """The shipped tags, and on the embedded default the demo users they are computed on."""
    from yd_platform.tags.embedded import prepare_embedded_tags

    for message in prepare_embedded_tags():
        print(message, flush=True)


def up_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cli.services import DagsterServices, StartupError, start_api, stop_on_sigterm
    from yd_platform.collect.embedded import start_portal_process

    stop_on_sigterm()
    home = embedded_dagster_home()
    # One demo portal for every run process of the daemon (skipped when YD_PORTAL_URL
    # points at real back-ends); started first so the runs inherit YD_PORTAL_URL.
    portal = start_portal_process()
    services = api = None
    try:
        if portal is not None:
            print(f"Demo merchant portal on {os.environ['YD_PORTAL_URL']}", flush=True)
        todays_plans(args.date, datasets=args.datasets)  # shops in the UI before the first sensor tick
        prepare_tags()
        workspace = PACKAGE_DIR.parent / "workspace.yaml"
        target = ["-w", str(workspace)] if workspace.exists() else ["-m", "yd_platform.definitions"]
        services = DagsterServices(args.host, str(args.port), target)
        services.wait_ready(args.startup_timeout)
        print(f"Dagster UI on {services.url}  (DAGSTER_HOME={home})", flush=True)
        if args.api_port:
            api = start_api(args.host, args.api_port, services.url)
        if not args.skip_run:
            submit_plan(services.url, args.date, args.datasets)
        return services.wait()
    except KeyboardInterrupt:
        print("Stopping ...", flush=True)
        return 0
    except StartupError as exc:
        print(f"yd-platform up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        if services is not None:
            services.stop()
        if portal is not None:
            portal.terminate()
            portal.wait(10)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.stdout.flush()

