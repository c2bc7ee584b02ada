"""`yd-platform`: the operator command line.

Each sub-command lives in its own module with `register(subparsers)`; the module's
parser sets `func`, which returns the exit status. Only the module of the command
being run is imported, so a command pays for its own imports and nothing else
(`yd-platform --help` imports none of them).

An error ends a command with one line naming it on stderr; `--debug`, accepted before
or after the sub-command by every parser, shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from importlib import metadata

# command name -> (module that registers it, one-line help shown by `yd-platform --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("yd_platform.cli.plan", "show what the schedules request on a given day"),
    "run": ("yd_platform.cli.up", "run a day's plan in-process on the embedded instance"),
    "up": ("yd_platform.cli.up", "embedded default: serve the UI and daemon, then submit today's daily plan"),
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
    "adopt": ("yd_platform.cli.adopt", "record the old system's history as materialized partitions (dry run unless --apply)"),
    "incentives": ("yd_platform.cli.incentives", "sales incentives: import the old system's sent award notices"),
    "shadow": ("yd_platform.cli.shadow", "shadow run: compare with the old systems, release held messages"),
}


EXIT_CODES = """\
exit status:
  0  done, nothing failing
  1  an error (one line on stderr; --debug shows the traceback), or what the command
     checks is failing: doctor (a check FAILs), status (a failed partition or ERROR
     check), run (a chain failed)
  2  wrong usage (unknown command or option, a bad value), or input the command
     refuses as given (tags try: a rule with problems; pms run: an unknown service)
  130  interrupted with Ctrl-C (up stops what it started and exits 0)"""
DEBUG_HELP = "on an error show the full traceback instead of one line (run: also Dagster's event log)"


class CommandParser(argparse.ArgumentParser):
    """The parser of yd-platform and of every sub-command (argparse makes sub-parsers of the
    parent's class): each accepts `--debug`, so it may stand before or after the command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SUPPRESS: a sub-command's parser leaves the flag alone unless it is given there
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)


def version_line() -> str:
    """This package's version and the Dagster release it runs on (installed metadata)."""
    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return f"yd-platform {installed('yd_platform')} (dagster {installed('dagster')})"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser for `command`, or a listing of every command when it is unknown."""
    parser = CommandParser(prog="yd-platform", description=__doc__.splitlines()[0], epilog=EXIT_CODES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=version_line(),
                        help="show the package and Dagster versions and exit")
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
    args.debug = getattr(args, "debug", False)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`yd-platform plan | head`): nothing more to say, to nobody
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - operators get one clear line, not a traceback
        if args.debug:
            traceback.print_exc()
        else:
            print(f"yd-platform {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
