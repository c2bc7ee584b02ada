"""`yd-platform`: the operator command line.

Each sub-command lives in its own module with `register(subparsers)`; the module's
parser sets `func`, which returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "yd_platform.cli.plan",
    "yd_platform.cli.up",
    "yd_platform.cli.doctor",
    "yd_platform.cli.status",
    "yd_platform.cli.portal",
    "yd_platform.cli.login",
    "yd_platform.cli.metrics",
    "yd_platform.cli.sql",
    "yd_platform.cli.tags",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yd-platform", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
