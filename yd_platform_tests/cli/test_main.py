"""The command line itself: `--version`, `--debug` anywhere, help for every option, exit status."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import metadata

import pytest

from yd_platform.cli.main import COMMANDS, build_parser, main


def test_version_names_the_package_and_dagster():
    out = subprocess.run([sys.executable, "-m", "yd_platform.cli.main", "--version"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (f"yd-platform {metadata.version('yd_platform')} "
                                  f"(dagster {metadata.version('dagster')})")
    assert metadata.version("dagster") in out.stdout


def test_an_error_is_one_line_without_debug(yd_home, capsys):
    assert main(["plan", "--platforms", "taobao"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "yd-platform plan: unknown platforms ['taobao']; known: ['dw', 'erp', 'jd', 'pdd', 'tm']"]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["--debug", "plan", "--platforms", "taobao"],
    ["plan", "--platforms", "taobao", "--debug"],
    ["plan", "--debug", "--platforms", "taobao"],
])
def test_debug_before_or_after_the_command_shows_the_traceback(yd_home, capsys, argv):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "plan_day" in err  # the frame that raised
    assert err.strip().splitlines()[-1] == "ValueError: unknown platforms ['taobao']; known: ['dw', 'erp', 'jd', 'pdd', 'tm']"


def test_debug_reaches_nested_commands():
    """`tags list` is a command of a command: --debug is accepted at each level."""
    for argv in (["--debug", "tags", "list"], ["tags", "--debug", "list"], ["tags", "list", "--debug"]):
        assert build_parser("tags").parse_args(argv).debug is True, argv
    assert not hasattr(build_parser("tags").parse_args(["tags", "list"]), "debug")  # main() reads it as False


def test_wrong_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--no-such-option"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def _options_without_help(parser: argparse.ArgumentParser, path: list[str]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options_without_help(sub, [*path, name])
        elif not isinstance(action, argparse._HelpAction) and not (action.help or "").strip():
            yield " ".join(path), "/".join(action.option_strings) or action.dest


def test_every_option_of_every_command_has_help():
    missing = [found for command in COMMANDS for found in _options_without_help(build_parser(command), [])]
    assert missing == []
    # and the walk does see the options (e.g. run's --schedule), not an empty parser
    run = build_parser("run")
    sub = next(a for a in run._actions if isinstance(a, argparse._SubParsersAction)).choices["run"]
    assert {"--schedule", "--platforms", "--datasets", "--debug"} <= {o for a in sub._actions for o in a.option_strings}


def test_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--version" in out and "--debug" in out
    assert "exit status:" in out and "2  wrong usage" in out
