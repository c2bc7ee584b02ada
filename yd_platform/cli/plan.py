"""`yd-platform plan`: what the schedules would request on a day, without running anything."""

from __future__ import annotations

import argparse
import json
from datetime import date

from yd_platform.catalog import load_catalog
from yd_platform.catalog.periods import ticks_on
from yd_platform.pipeline.plan import SCHEDULE_KINDS, plan_day, platform_today
from yd_platform.resources.core import shop_source_from_env


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show what the schedules request on a given day")
    p.add_argument("--schedule", choices=SCHEDULE_KINDS, default="all")
    p.add_argument("--date", type=date.fromisoformat, default=None,
                   help="tick day T, YYYY-MM-DD (default: today in Asia/Shanghai)")
    p.add_argument("--platforms", nargs="+", metavar="PLATFORM")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
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

    plans = plan_day(catalog, args.date, shops_for, args.schedule, args.platforms)
    if args.json:
        for plan in plans:
            print(json.dumps(plan.as_json(), ensure_ascii=False))
        return 0
    print(f"Plan for T = {args.date.isoformat()} (schedule: {args.schedule})")
    timed = sorted(((ticks_on(p.dataset, args.date)[0], p) for p in plans), key=lambda tp: tp[0])
    for when, plan in timed:
        ds = plan.dataset
        tick = when.strftime("%H:%M")
        print(f"  {tick}  {ds.platform}/{ds.code:<14} {ds.name:<12} partition={plan.period.key:<10} "
              f"period={plan.period.label:<21} shops={','.join(plan.shops) or '-'}")
    if not plans:
        print("  nothing is scheduled on this day for the selection")
    return 0
