"""`yd-platform pms`: the project-management system's 37 scheduled services by hand.

`run` uses the same runner as the Dagster jobs (one transaction, immediate notifications
through the outbox, the JSON log line, the SLA alert), against `--db` or `YD_PMS_DB_URL`
or the embedded SQLite database, as of `--now`.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from yd_platform.cli.terminal import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pms", help="PMS operations alerts: list, run a service, create or fill the database")
    psub = p.add_subparsers(dest="pms_command", required=True)
    db_help = "SQLAlchemy URL of the PMS database (default: YD_PMS_DB_URL, else the embedded SQLite)"

    lp = psub.add_parser("list", help="the 37 services with schedule, tables, risk level and SLA")
    lp.add_argument("--json", action="store_true", help="the services list as JSON")
    lp.set_defaults(func=run_list)

    ip = psub.add_parser("init-db", help="create the missing PMS tables (existing ones are left alone)")
    ip.add_argument("--db", help=db_help)
    ip.set_defaults(func=run_init)

    dp = psub.add_parser("demo-data", help="fill the PMS database with demo projects")
    dp.add_argument("--db", help=db_help)
    dp.add_argument("--seed", type=int, default=7, help="random seed: same seed and day, same rows (default 7)")
    dp.add_argument("--projects", type=int, default=200, help="number of projects (default 200)")
    dp.add_argument("--today", type=date.fromisoformat, help="YYYY-MM-DD the dates are relative to (default: today)")
    dp.add_argument("--replace", action="store_true", help="empty the 64 PMS tables first")
    dp.set_defaults(func=run_demo)

    rp = psub.add_parser("run", help="run one service against the PMS database")
    rp.add_argument("service", help="service id, e.g. check_milestone_alerts (see `yd-platform pms list`)")
    rp.add_argument("--now", help="ISO date-time the service runs as of (Asia/Shanghai unless it has an offset)")
    rp.add_argument("--partition", help="report day YYYY-MM-DD (month YYYY-MM-01) for the partitioned services")
    rp.add_argument("--db", help=db_help)
    rp.add_argument("--json", action="store_true", help="print the run summary as JSON")
    rp.set_defaults(func=run_one)

    ap = psub.add_parser("alert", help="acknowledge, resolve, close or ignore an alert",
                         description="acknowledge: from PENDING; resolve, ignore: from PENDING, ACKNOWLEDGED, "
                                     "PROCESSING; close: from those or RESOLVED. CLOSED and IGNORED are final.")
    ap.add_argument("action", choices=["acknowledge", "resolve", "close", "ignore"], help="what to do with the alert")
    ap.add_argument("alert_no", help="the alert's number (alert_no of alert_records)")
    ap.add_argument("--user", type=int, required=True, help="id of the acting user (an active user of the PMS users table)")
    ap.add_argument("--note", help="handling note")
    ap.add_argument("--db", help=db_help)
    ap.set_defaults(func=run_alert)


def _engine(url: str | None):
    from yd_platform.pms.schema import pms_engine
    from yd_platform.resources.pms_db import pms_db_url

    return pms_engine(url or pms_db_url())


def run_list(args: argparse.Namespace) -> int:
    from yd_platform.pms.api import list_services

    data = list_services()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    rows = [[s["id"], s.get("name") or "", s["cron_expression"], s["risk_level"],
             f"{s['sla']['max_execution_time_seconds']:g}", ", ".join(s["dependencies_tables"])]
            for s in data["services"]]
    print(table(["service", "name", "cron", "risk", "SLA s", "tables"], rows, align="<<<<><"))
    print(f"{data['total']} services, Asia/Shanghai")
    return 0


def run_init(args: argparse.Namespace) -> int:
    from yd_platform.pms.schema import TABLES, create_missing
    from yd_platform.resources.app_db import engine_for
    from yd_platform.resources.pms_db import pms_db_url

    created = create_missing(engine_for(args.db or pms_db_url()))
    print(f"created {len(created)} of {len(TABLES)} tables" + (f": {', '.join(created)}" if created else " (all present)"))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from yd_platform.pms.demo import fill_demo

    counts = fill_demo(_engine(args.db), projects=args.projects, seed=args.seed, today=args.today, replace=args.replace)
    print(f"{sum(counts.values())} rows in {len(counts)} tables ({counts.get('projects', 0)} projects)")
    return 0


def run_one(args: argparse.Namespace) -> int:
    from yd_platform.outbox.channel_config import load_outbox_config
    from yd_platform.outbox.channel_resources import alert_channels_now
    from yd_platform.pms.config import load_pms_config
    from yd_platform.pms.delivery import OutboxLink
    from yd_platform.pms.runner import run_service
    from yd_platform.resources.app_db import app_db_from_env

    cfg = load_pms_config()
    try:
        svc = cfg.service(args.service)
    except KeyError as exc:
        print(f"yd-platform pms run: {exc.args[0]}", file=sys.stderr)
        return 2
    outbox = OutboxLink(app_db_from_env().engine(), load_outbox_config(), alert_channels_now())
    summary = run_service(svc.id, _engine(args.db), now=args.now, partition=args.partition, outbox=outbox, config=cfg)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        written = ", ".join(f"{k} {v}" for k, v in summary["rows_written"].items()) or "nothing"
        print(f"{svc.id} as of {summary['now']}: {summary['alerts_created']} alerts created, "
              f"{summary['alerts_escalated']} escalated; wrote {written}; {summary['duration_ms']:.0f} ms "
              f"(SLA {summary['sla_seconds']:g} s{', BREACHED' if summary['sla_breached'] else ''})")
        for s in summary["skipped"]:
            more = f" (first {len(s['ids'])})" if s["count"] > len(s["ids"]) else ""
            print(f"  skipped {s['count']} {s['table']} row(s), {s['column'] or 'error'} {s['reason']}: "
                  f"id {', '.join(map(str, s['ids']))}{more}")
    return 0


def run_alert(args: argparse.Namespace) -> int:
    from yd_platform.pms.config import load_pms_config
    from yd_platform.pms.lifecycle import apply
    from yd_platform.pms.runner import local_now

    now = local_now(None, load_pms_config().timezone)
    # one transaction: a refused action (unknown user, a status it may not leave) writes nothing
    with _engine(args.db).begin() as conn:
        values = apply(conn, args.alert_no, args.action, args.user, now, note=args.note)
    print(f"{args.alert_no}: {values['status']}")
    return 0
