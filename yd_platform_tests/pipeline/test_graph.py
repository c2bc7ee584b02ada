"""Snapshot of the asset graph the catalog produces, and that it loads as Dagster would."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from yd_platform.catalog.loader import parse_catalog
from yd_platform.datasets.keys import stage_key
from yd_platform.datasets.partitions import DATE_DIM, SHOP_DIM, time_partitions
from yd_platform.definitions import build_definitions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph(catalog):
    return build_definitions(catalog).resolve_asset_graph()


def test_every_dataset_has_three_assets_in_its_platform_group(catalog, graph):
    keys = set(graph.get_all_asset_keys())
    for ds in catalog.datasets():
        for stage in ("raw", "merged", "ods"):
            key = dg.AssetKey([ds.platform, ds.code, f"{ds.code}_{stage}"])
            assert key in keys, key
            assert key.path[-1] not in ("raw", "merged", "ods")  # the node name says the dataset
            node = graph.get(key)
            assert node.group_name == ds.platform
            assert node.owners == ["team:ops-data"]
            assert ds.name in (node.description or "")


def test_partitions_and_dependencies(catalog, graph):
    for ds in catalog.datasets():
        raw, merged, ods = (graph.get(stage_key(ds, stage)) for stage in ("raw", "merged", "ods"))
        assert isinstance(raw.partitions_def, dg.MultiPartitionsDefinition)
        dims = {d.name: d.partitions_def for d in raw.partitions_def.partitions_defs}
        assert set(dims) == {DATE_DIM, SHOP_DIM}
        assert dims[SHOP_DIM] == dg.DynamicPartitionsDefinition(name=f"{ds.platform}_shops")
        assert dims[DATE_DIM] == merged.partitions_def == ods.partitions_def
        assert merged.parent_keys == {raw.key}
        assert ods.parent_keys == {merged.key}
        assert raw.automation_condition is None  # raw runs from schedules or by hand
        assert merged.automation_condition is not None and ods.automation_condition is not None
        assert ods.backfill_policy is not None and ods.backfill_policy.max_partitions_per_run > 1


@pytest.mark.parametrize(
    ("platform", "dataset", "first", "cls"),
    [
        ("pdd", "badscore", "2025-09-01", dg.DailyPartitionsDefinition),
        ("pdd", "kpi_weekly", "2025-09-04", dg.WeeklyPartitionsDefinition),  # the first Thursday
        ("tm", "kpi_monthly", "2025-09", dg.MonthlyPartitionsDefinition),
    ],
)
def test_partition_key_formats(graph, catalog, platform, dataset, first, cls):
    """Partitions start at the catalog's start_date (defaults.start_date: 2025-09-01)."""
    pdef = graph.get(stage_key(catalog.dataset(platform, dataset), "merged")).partitions_def
    assert isinstance(pdef, cls)
    assert pdef.get_first_partition_key() == first
    assert pdef.timezone == "Asia/Shanghai"


def test_a_dataset_can_start_later_than_the_default(catalog):
    text = """
defaults: {start_date: "2025-09-01"}
platforms:
  pdd:
    name: 拼多多
    datasets:
      late: {name: 晚, cadence: daily, offset: -1, cron: "0 8 * * *", start_date: "2025-11-20"}
      usual: {name: 常, cadence: daily, offset: -1, cron: "0 8 * * *"}
"""
    parsed = parse_catalog(text)
    assert time_partitions(parsed.dataset("pdd", "late")).get_first_partition_key() == "2025-11-20"
    assert time_partitions(parsed.dataset("pdd", "usual")).get_first_partition_key() == "2025-09-01"


def test_quality_exposes_todays_partition(graph, catalog):
    quality = graph.get(stage_key(catalog.dataset("pdd", "quality"), "merged")).partitions_def
    badscore = graph.get(stage_key(catalog.dataset("pdd", "badscore"), "merged")).partitions_def
    assert quality.end_offset == 1 and badscore.end_offset == 0


def test_jobs_schedules_and_sensors_exist(catalog):
    defs = build_definitions(catalog)
    repo = defs.get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs()}
    for ds in catalog.datasets():
        assert f"{ds.slug}__collect" in jobs and f"{ds.slug}__publish" in jobs
    sensors = {s.name for s in repo.sensor_defs}
    assert {f"{p}__shops_sync" for p in catalog.platforms} <= sensors
    assert "yd_automation" in sensors


@pytest.mark.slow
def test_dagster_definitions_validate(yd_home, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr
