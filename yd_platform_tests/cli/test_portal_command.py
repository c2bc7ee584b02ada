"""`yd-platform portal --faults`: its help names every error switch the portal knows, and a
switch given the wrong kind of value is refused naming it."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from yd_platform.cli.main import build_parser, main
from yd_platform.demo.portal_state import Faults


def _faults_help() -> str:
    parser = build_parser("portal")
    portal = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["portal"]
    return next(a for a in portal._actions if "--faults" in a.option_strings).help


def test_faults_help_lists_every_switch_of_the_portal():
    text = _faults_help()
    switches = [f.name for f in fields(Faults)]
    assert "bad_reports" in switches and "rename_field" in switches and "expire_api" in switches
    assert [name for name in switches if f"{name} (" not in text] == []


@pytest.mark.parametrize(("faults", "said"), [
    ('{"bad_reports": "2025-10-01|pdd_kids"}', 'bad_reports must be a list of "<period key>|<shop>" strings'),
    ('{"captcha": 1}', "captcha must be true or false, not 1"),
    ('{"fail_5xx": true}', "fail_5xx must be a whole number, not true"),
    ('{"no_such_switch": 1}', "unknown fault switch 'no_such_switch'; known: bad_reports, captcha"),
    ('["captcha"]', "expected a JSON object of switches"),
    ("{captcha}", "not JSON"),
])
def test_a_wrong_switch_is_refused_naming_it(faults, said, yd_home, capsys):
    assert main(["portal", "--port", "0", "--faults", faults]) == 1
    err = capsys.readouterr().err
    assert err.startswith("yd-platform portal: --faults") and said in err, err
