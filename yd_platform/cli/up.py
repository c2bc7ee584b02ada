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

from yd_platform.deployment import PACKAGE_DIR, yd_home

EMBEDDED_INSTANCE_YAML = """\
# Embedded default instance: SQLite storage under this folder.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
# A step waits for its pool's slot (one merchant account, a platform's ceiling). The queue
# starts up to `op_granularity_run_buffer` runs more than a pool has free slots, so the
# next runs of a backfill start their processes while the running ones download.
concurrency:
  pools:
    granularity: op
    default_limit: 1
    op_granularity_run_buffer: 2
  runs:
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
    run = sub.add_parser("run", help="run a day's plan in-process on the embedded instance",
                         description="Collects every planned shop, then merges and publishes each period, in this "
                                     "process; progress per chain on stderr (bars on a terminal, plain lines "
                                     "otherwise), one result line per chain on stdout. Exit status 1 when a chain "
                                     "failed. Dagster's event log of the runs shows with --debug.")
    run.add_argument("--date", type=date.fromisoformat, default=None,
                     help="tick day T (default: today in Asia/Shanghai)")
    run.add_argument("--schedule", default="daily", choices=["daily", "weekly", "monthly", "all"],
                     help="the datasets of this cadence's schedules (default: daily)")
    run.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET",
                     help="only these datasets (default: every one that ticks that day)")
    run.add_argument("--platforms", nargs="+", metavar="PLATFORM", help="only these platforms' datasets")
    run.set_defaults(func=run_cmd)

    up = sub.add_parser("up", help="embedded default: serve the UI and daemon, then submit today's daily plan",
                        description="Starts the demo merchant portal, the Dagster webserver and daemon and the "
                                    "HTTP API, then submits today's daily plan. The console shows what was started "
                                    "and submitted; the processes' own output goes to YD_HOME/logs/dagster.log "
                                    "and YD_HOME/logs/api.log.")
    up.add_argument("--host", default="127.0.0.1", help="address the UI and the API listen on (default 127.0.0.1)")
    up.add_argument("--port", default="3000", help="port of the Dagster UI (default 3000)")
    up.add_argument("--skip-run", action="store_true", help="start the UI without submitting today's plan")
    up.add_argument("--date", type=date.fromisoformat, default=None,
                    help="tick day T of the plan (default: today in Asia/Shanghai)")
    up.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET",
                    help="submit only these datasets' collections (default: every one that ticks today)")
    up.add_argument("--startup-timeout", type=float, default=300.0,
                    help="seconds to wait for the webserver to load the code location")
    up.add_argument("--api-port", type=int, default=8000,
                    help="port of the HTTP API (yd-platform api) started beside the UI; 0: do not start it")
    up.set_defaults(func=up_cmd)


def todays_plans(day: date | None, schedule: str = "daily", datasets: list[str] | None = None,
                 platforms: list[str] | None = None):
    """Sync the shops and the catalog's pools into the instance and plan `day` (default:
    today in Shanghai). The pools are set before the first run, so `run` (in process)
    and the first runs of `up` are held to the catalog's limits even before the
    `yd_pool_limits` sensor's first tick."""
    from yd_platform.catalog import load_catalog
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.collect.shops_sensor import sync_shops
    from yd_platform.instance.pools import sync_platform_pools
    from yd_platform.pipeline.plan import plan_day, platform_today
    from yd_platform.resources.shops import shop_source_from_env

    catalog = load_catalog()
    day = day or platform_today(catalog)
    with open_instance() as instance:
        shops = sync_shops(instance, catalog, shop_source_from_env())
        sync_platform_pools(instance, catalog)
    plans = plan_day(catalog, day, lambda p: shops[p], schedule, platforms)
    if datasets:
        plans = [p for p in plans if f"{p.dataset.platform}/{p.dataset.code}" in set(datasets)]
    return catalog, day, plans


def run_day(day: date | None, schedule: str = "daily", datasets: list[str] | None = None,
            platforms: list[str] | None = None, debug: bool = False) -> bool:
    """Run the day's chains in this process, showing each chain's phases as they happen.

    Dagster's console logger keeps to warnings and errors (a failed step says why);
    with `debug` it prints the runs' whole event log."""
    from yd_platform.cli.instance_home import instance_home, open_instance
    from yd_platform.cli.terminal import Progress
    from yd_platform.definitions import defs
    from yd_platform.pipeline.local_run import run_chain

    home = instance_home()
    _catalog, day, plans = todays_plans(day, schedule, datasets, platforms)
    if not plans:
        print(f"nothing is scheduled on {day} for this selection")
        return True
    print(f"Running {len(plans)} chain(s) of {day} in this process (DAGSTER_HOME={home})", flush=True)
    run_config = {"loggers": {"console": {"config": {"log_level": "DEBUG" if debug else "WARNING"}}}}
    ok = True
    with open_instance() as instance, Progress() as progress:
        for number, plan in enumerate(plans, 1):
            result = run_chain(defs, instance, plan, run_config=run_config,
                               on_run=ChainProgress(progress, plan, f"[{number}/{len(plans)}]"))
            ok &= result.success
            state = "ok" if result.success else "FAILED"
            failed = [s for s, good in result.collected.items() if not good]
            if result.published is False:
                failed.append("publish")
            print(f"{state:6} {plan.dataset.platform}/{plan.dataset.code} {plan.period.label} "
                  f"shops={len(plan.shops)}" + (f" failed={failed}" if failed else ""), flush=True)
    return ok


class ChainProgress:
    """`run_chain`'s `on_run` for one chain: its collect phase counts shops, then its
    publish phase; each step says how it ended and how many rows it wrote."""

    def __init__(self, progress, plan, prefix: str):
        self.progress, self.plan = progress, plan
        self.name = f"{prefix} {plan.dataset.platform}/{plan.dataset.code} {plan.period.label}"
        self.done: list[bool] = []
        progress.phase(f"{self.name}: collect", len(plan.shops))

    def __call__(self, shop: str | None, result) -> None:
        from yd_platform.datasets.keys import ods_key, raw_key

        ds = self.plan.dataset
        if shop is not None:
            self.done.append(result.success)
            self.progress.update(len(self.done), f"{shop} {_outcome(result, raw_key(ds))}")
            if len(self.done) == len(self.plan.shops) and all(self.done):
                self.progress.phase(f"{self.name}: merge and publish", 1)
        else:
            self.progress.update(1, _outcome(result, ods_key(ds), "published"))


def _outcome(result, key, verb: str = "") -> str:
    """'ok, 49 rows' from the run's materialization of `key`, or 'FAILED'."""
    if not result.success:
        return "FAILED"
    rows = None
    for event in result.get_asset_materialization_events():
        if event.asset_key == key:
            meta = event.materialization.metadata
            value = meta.get("dagster/row_count") or meta.get("rows")
            rows = (rows or 0) + value.value if value is not None else rows
    return "ok" if rows is None else f"ok, {rows} rows" + (f" {verb}" if verb else "")


def run_cmd(args: argparse.Namespace) -> int:
    return 0 if run_day(args.date, args.schedule, args.datasets, args.platforms, args.debug) else 1


def submit_plan(url: str, day: date | None, datasets: list[str] | None) -> list[str]:
    """Submit the day's collect runs to the webserver, as the schedules would request them.

    Shops whose raw partition is already in are skipped, so running `up` again the same
    day downloads nothing twice. Returns the run ids.
    """
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.datasets.keys import raw_key
    from yd_platform.pipeline.jobs import collect_job_name
    from yd_platform.pipeline.plan import shop_accounts
    from yd_platform.resources.dagster_webserver import RunLauncher

    catalog, day, plans = todays_plans(day, "daily", datasets)
    print(f"Submitting the daily plan for {day} (Asia/Shanghai) ...", flush=True)
    launcher = RunLauncher(url)
    run_ids = []
    with open_instance() as instance:
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
    from yd_platform.tags.first_start import prepare_embedded_tags

    for message in prepare_embedded_tags():
        print(message, flush=True)


def up_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cli.instance_home import instance_home
    from yd_platform.cli.services import (
        DagsterServices,
        StartupError,
        start_api,
        stop_on_sigterm,
    )
    from yd_platform.collect.embedded import start_portal_process

    stop_on_sigterm()
    home = instance_home()
    logs = yd_home() / "logs"
    # One demo portal for every run process of the daemon (skipped when YD_PORTAL_URL
    # points at real back-ends; it prints its own address); started first so the runs
    # inherit YD_PORTAL_URL.
    portal = start_portal_process()
    services = api = None
    try:
        todays_plans(args.date, datasets=args.datasets)  # shops in the UI before the first sensor tick
        prepare_tags()
        workspace = PACKAGE_DIR.parent / "workspace.yaml"
        target = ["-w", str(workspace)] if workspace.exists() else ["-m", "yd_platform.definitions"]
        print(f"Starting the Dagster webserver and daemon (their log: {logs / 'dagster.log'}) ...", flush=True)
        services = DagsterServices(args.host, str(args.port), target, logs / "dagster.log")
        services.wait_ready(args.startup_timeout)
        print(f"Dagster UI on {services.url}  (DAGSTER_HOME={home})", flush=True)
        if args.api_port:
            api = serve_api(args.host, args.api_port, services.url, logs / "api.log", start_api)
        if not args.skip_run:
            run_ids = submit_plan(services.url, args.date, args.datasets)
            print(f"{len(run_ids)} run(s) queued; the daemon starts them: {services.url}/runs", flush=True)
        print(f"Running. Ctrl-C stops everything; the processes' logs are in {logs}", flush=True)
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


def serve_api(host: str, port: int, dagster_url: str, log_path: Path, start_api):
    """`yd-platform api` beside the UI; says where it answers once it does (the address it
    binds: loopback unless YD_API_KEY is set), or that it did not start and where to look."""
    from yd_platform.api.settings import ApiSettings, safe_host
    from yd_platform.cli.services import wait_answering

    bound, warning = safe_host(host, ApiSettings.from_env())
    if warning:
        print(warning, flush=True)
    proc = start_api(host, port, dagster_url, log_path)
    if wait_answering(f"http://{bound}:{port}/health", proc, 120):
        print(f"HTTP API on http://{bound}:{port}  (docs /docs; log: {log_path})", flush=True)
    else:
        print(f"the HTTP API did not start on {bound}:{port}; see {log_path}", file=sys.stderr, flush=True)
    return proc
