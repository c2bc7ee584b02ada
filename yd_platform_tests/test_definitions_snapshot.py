"""Snapshot of the whole code location (`build_definitions()` of the embedded default):
every stage's assets with group, partitions, deps, automation, kinds and checks, the jobs,
schedules, sensors and resource keys. A change to any of them shows up as a reviewable
diff of `snapshots/definitions.json`.

After an intended change, regenerate it from the repository's root and review the diff:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest yd_platform_tests/test_definitions_snapshot.py

In CI (`CI` set, as .ci/run sets it) a missing snapshot fails; elsewhere the test is
skipped saying how to create it.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from yd_platform.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
HOW = f"UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest {Path(__file__).relative_to(ROOT)}"


def _condition(condition: dg.AutomationCondition) -> str:
    """An automation condition as an expression of its parts' names."""
    children = [_condition(child) for child in condition.children]
    return f"{condition.name}({', '.join(children)})" if children else condition.name


def _automation(condition: dg.AutomationCondition | None, named: dict[str, str]) -> str | None:
    """The condition's label (its expression then listed once under `automation_conditions`),
    or its expression when it has none."""
    if condition is None:
        return None
    expression = _condition(condition)
    label = condition.get_label()
    if not label:
        return expression
    named[label] = expression
    return label


def describe(defs: dg.Definitions) -> dict:
    """What the code location declares, in a form that does not depend on the machine."""
    graph = defs.resolve_asset_graph()
    named: dict[str, str] = {}
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        checks = {check.name: {"blocking": graph.get_check_spec(check).blocking}
                  for check in sorted(node.check_keys, key=lambda c: c.name)}
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": str(node.partitions_def) if node.partitions_def else None,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "automation": _automation(node.automation_condition, named),
            "kinds": sorted(node.kinds),
            "checks": checks,
        }
    repo = defs.get_repository_def()
    return {
        "assets": assets,
        "automation_conditions": named,
        "jobs": sorted(job.name for job in repo.get_all_jobs() if not job.name.startswith("__")),
        "schedules": {s.name: {"cron": s.cron_schedule, "timezone": s.execution_timezone}
                      for s in repo.schedule_defs},
        "sensors": {s.name: {"default_status": s.default_status.value} for s in repo.sensor_defs},
        "resources": {name: f"{type(r).__module__}.{type(r).__qualname__}" for name, r in defs.resources.items()},
    }


@pytest.fixture
def embedded_default(yd_home, monkeypatch):
    """No YD_ variable but YD_HOME: the code location as the embedded default loads it,
    whatever the machine running the test has set."""
    for name in [n for n in os.environ if n.startswith("YD_") and n != "YD_HOME"]:
        monkeypatch.delenv(name)


def test_definitions_match_the_snapshot(embedded_default):
    current = json.dumps(describe(build_definitions()), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    where = SNAPSHOT.relative_to(ROOT)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
        print(f"wrote {where}: review its diff and commit it")
    if not SNAPSHOT.exists():
        missing = f"{where} is missing: create it with `{HOW}`, review it and commit it"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), current.splitlines(keepends=True),
                                            f"{where} (committed)", "the definitions now"))
        pytest.fail(f"the code location differs from {where}; if that is intended, regenerate it with `{HOW}` "
                    f"and commit the reviewed diff:\n{diff}", pytrace=False)
