"""`yd-platform incentives`: sales-incentive operations outside Dagster.

`import-notices` records the award notices the old incentive system already sent as sent
in the platform's outbox, so the first run after the cutover announces nothing twice
(`yd_platform.cutover.notices_import`).
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("incentives", help="sales incentives: import the old system's sent notices")
    commands = parser.add_subparsers(dest="incentives_command", required=True)
    imp = commands.add_parser(
        "import-notices", help="record the award notices the old incentive system sent as sent",
        description="Reads the old system's tasks.db and state/send_status_*.json, and records the notices of "
                    "the awards it sent as sent (origin imported) under the platform's keys. Materialize "
                    "incentives/contracts and incentives/rewards of those months first.")
    imp.add_argument("--sqlite", metavar="PATH", help="the old system's tasks.db")
    imp.add_argument("--status-dir", metavar="DIR", help="the old system's state/ folder (send_status_<city>_<month>.json)")
    imp.add_argument("--year", type=int, help="the campaigns' year, when a status file's month names several")
    imp.add_argument("--dry-run", action="store_true", help="say what would be imported, change nothing")
    imp.add_argument("--json", action="store_true", help="machine-readable output")
    imp.set_defaults(func=import_notices_cmd)


def import_notices_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cli.terminal import Progress
    from yd_platform.cutover.notices_import import import_notices
    from yd_platform.deployment import app_db_url
    from yd_platform.incentives.config import load_incentives_config
    from yd_platform.outbox.channel_resources import resolved
    from yd_platform.outbox.shadow import shadow_from_env
    from yd_platform.resources.app_db import engine_for
    from yd_platform.resources.object_store import object_store_from_env

    if not args.sqlite and not args.status_dir:
        raise ValueError("import-notices: give --sqlite PATH and/or --status-dir DIR")
    with Progress() as progress:
        report = import_notices(load_incentives_config(), engine_for(app_db_url()),
                                resolved(object_store_from_env()).client(), sqlite_path=args.sqlite,
                                status_dir=args.status_dir, year=args.year, shadow=shadow_from_env(),
                                dry_run=args.dry_run, progress=progress)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines()))
    return 0
