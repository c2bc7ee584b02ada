"""`yd-platform prepare-instance`: bring the Dagster instance's storage up to date.

Runs Dagster's own schema migration, then (on MySQL) widens the body columns Dagster
creates as 64 KiB TEXT, which the automation daemon outgrows. Idempotent: the compose
stack runs it before the webserver and daemon start.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-instance", help="migrate the Dagster instance's storage and widen MySQL body columns")
    p.set_defaults(func=prepare_instance_cmd)


def prepare_instance_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.instance.mysql_storage import prepare_instance

    with open_instance() as instance:
        for line in prepare_instance(instance):
            print(line, flush=True)
    return 0
