"""`yd-platform plan`: what the schedules would request on a day, without running anything.

Each planned request carries its tick: the moment the dataset's schedule fires that day,
in the dataset's timezone (`tick` in `--json`, the first column of the table).
"""

from __future__ import annotations

import argparse
import json
from datetime import date

from yd_platform.catalog import load_catalog
from yd_platform.catalog.periods import ticks_on
from yd_platform.cli.terminal import columns
from yd_platform.pipeline.plan import (
    SCHEDULE_KINDS,
    collected_in_task_table,
    plan_day,
    platform_today,
)
from yd_platform.resources.shops import shop_source_from_env
from yd_platform.resources.task_tables import task_tables_from_env


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show what the schedules request on a given day")
    p.add_argument("--schedule", choices=SCHEDULE_KINDS, default="all",
                   help="only the datasets of this cadence's schedules (default: all)")
    p.add_argument("--date", type=date.fromisoformat, default=None,
                   help="tick day T, YYYY-MM-DD (default: today in Asia/Shanghai)")
    p.add_argument("--platforms", nargs="+", metavar="PLATFORM", help="only these platforms (default: every one)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per planned request, with its tick (ISO date-time with offset)")
    p.add_argument("--catalog", help="catalog file (default: $YD_CATALOG or the packaged one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    args.date = args.date or platform_today(catalog)
    source = shop_source_from_env()
    shops = {}

    def shops_for(platform: str) -> list[str]:
        if platform not in shops:
            shops[platform] = [s.id for s in source.active_shops(catalog, platform)]
        return shops[platform]

    task_tables = task_tables_from_env()
    plans = plan_day(catalog, args.date, shops_for, args.schedule, args.platforms,
                     collected=lambda ds, period, rest: collected_in_task_table(
                         task_tables, lambda: source.shop_names(catalog, ds.platform), ds, period, rest))
    ticks = [(ticks_on(p.dataset, args.date)[0], p) for p in plans]
    if args.json:
        for when, plan in ticks:
            print(json.dumps({"tick": when.isoformat(), **plan.as_json()}, ensure_ascii=False))
        return 0
    print(f"Plan for T = {args.date.isoformat()} (schedule: {args.schedule})")
    if not plans:
        print("  nothing is scheduled on this day for the selection")
        return 0
    rows = [["tick", "dataset", "name", "partition", "period", "shops", "done"]]
    for when, plan in sorted(ticks, key=lambda tp: tp[0]):
        ds = plan.dataset
        rows.append([when.strftime("%H:%M"), f"{ds.platform}/{ds.code}", ds.name, plan.period.key,
                     plan.period.label, ",".join(plan.shops) or "-",
                     ",".join(shop for shop, _ in plan.collected) or "-"])
    for line in columns(rows):
        print(f"  {line}")
    return 0
