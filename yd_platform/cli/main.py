"""`yd-platform`: the operator command line.

Each sub-command lives in its own module with `register(subparsers)`; the module's
parser sets `func`, which returns the exit status. Only the module of the command
being run is imported, so a command pays for its own imports and nothing else
(`yd-platform --help` imports none of them).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> (module that registers it, one-line help shown by `yd-platform --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("yd_platform.cli.plan", "show what the schedules request on a given day"),
    "run": ("yd_platform.cli.up", "run a day's plan in-process on the embedded instance"),
    "up": ("yd_platform.cli.up", "embedded default: run today's daily plan once, then serve the UI"),
    "doctor": ("yd_platform.cli.doctor", "check every outside part and say how to fix it"),
    "status": ("yd_platform.cli.status", "shop x period matrix per dataset, and the failing checks"),
    "portal": ("yd_platform.cli.portal", "serve the demo merchant portal (pdd, tm, jd, erp back-ends)"),
    "login": ("yd_platform.cli.login", "log a merchant account in by hand and save its session"),
    "metrics": ("yd_platform.cli.metrics", "Prometheus metrics of runs, checks and datasets"),
    "sql": ("yd_platform.cli.sql", "query the ODS tables (embedded DuckDB over the object store)"),
    "tags": ("yd_platform.cli.tags", "user tags: list tags and rules, try rules on sample users"),
    "pms": ("yd_platform.cli.pms", "PMS operations alerts: list the 37 services, run one, create or fill the database"),
    "api": ("yd_platform.cli.api", "serve the HTTP API for tag tasks and the scheduler (docs at /docs)"),
    "dashboard": ("yd_platform.cli.dashboard", "serve the incentives dashboard (Streamlit)"),
    "prepare-instance": ("yd_platform.cli.instance", "migrate the Dagster instance's storage and widen MySQL body columns"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser for `command`, or a listing of every command when it is unknown."""
    parser = argparse.ArgumentParser(prog="yd-platform", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    if command in COMMANDS:
        importlib.import_module(COMMANDS[command][0]).register(sub)
    else:
        for name, (_, help_text) in COMMANDS.items():
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.error(f"unknown command {args.command!r}")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - operators get one clear line, not a traceback
        if getattr(args, "debug", False):
            raise
        print(f"yd-platform {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
