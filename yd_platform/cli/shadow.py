"""`yd-platform shadow`: the shadow run beside the old systems.

`report` compares what the platform computed and held with the old systems' outputs
(`yd_platform.cutover.shadow_report`); `release` queues held messages again once shadow
mode is off, for the operator who wants them sent after all. Shadow mode itself is the
variable `YD_SHADOW_MODE` (see `yd_platform.outbox.shadow`).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta


def _day(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2025-06-01: {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("shadow", help="shadow run: compare with the old systems, release held messages")
    commands = parser.add_subparsers(dest="shadow_command", required=True)
    report = commands.add_parser(
        "report", help="what the platform computed and held next to the old systems' outputs",
        description="Compares awards, user tags and PMS alerts with the old systems' outputs; prints counts "
                    "(equal, missing, extra, different) and the first differences. Exit status 0: "
                    "differences are information.")
    report.add_argument("--month", help="campaign month of the awards, YYYY-MM")
    report.add_argument("--city", nargs="+", help="cities of the awards (default: every configured city)")
    report.add_argument("--old-awards", nargs="+", metavar="PATH",
                        help="the old incentive system's PerformanceData-*.csv of the month and/or its tasks.db")
    report.add_argument("--old-user-tags", metavar="PATH_OR_URL",
                        help="export of the old tag system's user_tags (CSV/TSV with user_id, tag_ids) or its database URL")
    report.add_argument("--old-pms-alerts", metavar="PATH_OR_URL",
                        help="the old PMS's alert_records of the period (CSV export) or its database URL")
    report.add_argument("--since", type=_day, help="first day of the PMS period (default: 7 days before --until)")
    report.add_argument("--until", type=_day, help="day after the PMS period (default: today)")
    report.add_argument("--limit", type=int, default=20, help="differences named per kind and sort (default 20)")
    report.add_argument("--json", action="store_true", help="machine-readable output (every difference)")
    report.set_defaults(func=report_cmd)
    release = commands.add_parser("release", help="queue held messages again (they go out with the next delivery)")
    release.add_argument("--kind", nargs="+", help="only these kinds (alert, recovered, escalation, run_failure, "
                                                   "pms_alert, reward, ...; default: every kind)")
    release.add_argument("--since", type=_day, help="only messages held from this day on")
    release.add_argument("--dry-run", action="store_true", help="say how many, change nothing")
    release.set_defaults(func=release_cmd)


def report_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cutover import shadow_report as sr
    from yd_platform.deployment import app_db_url
    from yd_platform.outbox.shadow import shadow_from_env
    from yd_platform.resources.app_db import engine_for

    app = engine_for(app_db_url())
    comparisons = []
    if args.old_awards:
        if not args.month:
            raise ValueError("report: --old-awards needs --month YYYY-MM")
        from yd_platform.incentives.config import load_incentives_config
        from yd_platform.outbox.channel_resources import resolved
        from yd_platform.resources.object_store import object_store_from_env

        client = resolved(object_store_from_env()).client()
        comparisons.append(sr.compare_awards(load_incentives_config(), client, args.month, args.old_awards, args.city))
    if args.old_user_tags:
        comparisons.append(sr.compare_user_tags(app, args.old_user_tags))
    if args.old_pms_alerts:
        from yd_platform.pms.schema import pms_engine
        from yd_platform.resources.pms_db import pms_db_url

        until = args.until or datetime.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        since = args.since or until - timedelta(days=7)
        comparisons.append(sr.compare_pms_alerts(pms_engine(pms_db_url()), args.old_pms_alerts, since, until))
    report = sr.build_report(shadow=shadow_from_env(), app_engine=app, comparisons=comparisons)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines(args.limit)))
    return 0


def release_cmd(args: argparse.Namespace) -> int:
    from yd_platform.deployment import app_db_url
    from yd_platform.outbox.shadow import SHADOW_VARIABLE, release, shadow_from_env
    from yd_platform.resources.app_db import engine_for

    if shadow_from_env() and not args.dry_run:
        raise ValueError(f"release: shadow mode is on ({SHADOW_VARIABLE}=true); released "
                         "messages would only be held again. Switch it off first.")
    count = release(engine_for(app_db_url()), args.kind, since=args.since.timestamp() if args.since else None,
                    dry_run=args.dry_run)
    print(f"{'would queue' if args.dry_run else 'queued'} {count} held message(s)"
          + ("" if args.dry_run else "; the next delivery of each channel sends them"))
    return 0
