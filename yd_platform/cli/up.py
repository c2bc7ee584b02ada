"""`yd-platform run` and `yd-platform up`: the embedded default.

`run` executes what the schedules would request on a day (collect every shop, then
merge and publish) in-process on the local instance. `up` prepares the embedded
instance, runs today's daily schedule ticks once (each dataset's T+offset period) and
starts the Dagster UI and daemon.
"""

from __future__ import annotations

import argparse
import os
import subprocess
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
    run.add_argument("--date", type=date.fromisoformat, default=date.today(), help="tick day T")
    run.add_argument("--schedule", default="daily", choices=["daily", "weekly", "monthly", "all"])
    run.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET",
                     help="only these datasets (default: every one that ticks that day)")
    run.add_argument("--platforms", nargs="+", metavar="PLATFORM")
    run.set_defaults(func=run_cmd)

    up = sub.add_parser("up", help="embedded default: run today's daily plan once, then serve the UI")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", default="3000")
    up.add_argument("--skip-run", action="store_true", help="start the UI without the first run")
    up.add_argument("--datasets", nargs="+", metavar="PLATFORM/DATASET")
    up.set_defaults(func=up_cmd)


def run_day(day: date, schedule: str = "daily", datasets: list[str] | None = None,
            platforms: list[str] | None = None) -> bool:
    import dagster as dg

    from yd_platform.catalog import load_catalog
    from yd_platform.definitions import defs
    from yd_platform.pipeline.local_run import run_chain
    from yd_platform.pipeline.plan import plan_day
    from yd_platform.pipeline.shops_sensor import sync_shops
    from yd_platform.resources.core import shop_source_from_env

    embedded_dagster_home()
    catalog = load_catalog()
    with dg.DagsterInstance.get() as instance:
        shops = sync_shops(instance, catalog, shop_source_from_env())
        plans = plan_day(catalog, day, lambda p: shops[p], schedule, platforms)
        if datasets:
            plans = [p for p in plans if f"{p.dataset.platform}/{p.dataset.code}" in set(datasets)]
        ok = True
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


def sync_embedded_shops() -> None:
    """Mirror the shops into the instance now, so the UI shows them before the sensor ticks."""
    import dagster as dg

    from yd_platform.catalog import load_catalog
    from yd_platform.pipeline.shops_sensor import sync_shops
    from yd_platform.resources.core import shop_source_from_env

    with dg.DagsterInstance.get() as instance:
        sync_shops(instance, load_catalog(), shop_source_from_env())


def up_cmd(args: argparse.Namespace) -> int:
    from yd_platform.collect.embedded import start_portal_process

    home = embedded_dagster_home()
    # One demo portal for this command and every run process of the UI/daemon
    # (skipped when YD_PORTAL_URL points at real back-ends).
    portal = start_portal_process()
    if portal is not None:
        print(f"Demo merchant portal on {os.environ['YD_PORTAL_URL']}", flush=True)
    try:
        sync_embedded_shops()
        if not args.skip_run:
            print(f"Running the daily plan for {date.today()} on the embedded default ...", flush=True)
            run_day(date.today(), "daily", args.datasets)
        workspace = PACKAGE_DIR.parent / "workspace.yaml"
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", args.host, "-p", str(args.port)]
        cmd += ["-w", str(workspace)] if workspace.exists() else ["-m", "yd_platform.definitions"]
        print(f"Dagster UI on http://{args.host}:{args.port}  (DAGSTER_HOME={home})", flush=True)
        return subprocess.call(cmd, env=os.environ.copy())
    finally:
        if portal is not None:
            portal.terminate()
            portal.wait(10)
