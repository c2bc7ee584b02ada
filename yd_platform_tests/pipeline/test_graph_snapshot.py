"""Snapshot of the catalog-generated graph: a change to assets, partitions, deps, jobs or
schedules shows up as a reviewable diff. Regenerate with UPDATE_SNAPSHOTS=1."""

import json
import os
from pathlib import Path

import dagster as dg

from yd_platform.pipeline.defs import build_pipeline_defs
from yd_platform.resources.core import core_resources

SNAPSHOT = Path(__file__).parent / "snapshots" / "pipeline_graph.json"


def _snapshot(catalog) -> dict:
    defs = dg.Definitions.merge(build_pipeline_defs(catalog), dg.Definitions(resources=core_resources()))
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": str(node.partitions_def),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "automated": node.automation_condition is not None,
            "kinds": sorted(node.kinds),
        }
    repo = defs.get_repository_def()
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")),
        "schedules": {s.name: f"{s.cron_schedule} {s.execution_timezone}" for s in repo.schedule_defs},
        "sensors": sorted(s.name for s in repo.sensor_defs),
    }


def test_pipeline_graph_matches_snapshot(catalog, yd_home):
    current = _snapshot(catalog)
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())
