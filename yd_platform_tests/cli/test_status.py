"""`yd-platform status` after real in-process runs: some shops collected, one failed,
one in progress, one never run."""

from __future__ import annotations

import json
import uuid
from datetime import date

import dagster as dg
import pytest

from yd_platform.catalog.periods import Period
from yd_platform.cli import main as cli
from yd_platform.cli.status import (
    FAILED,
    MATERIALIZED,
    MISSING,
    RUNNING,
    dataset_status,
    recent_periods,
    render,
)
from yd_platform.launch import partition_tags
from yd_platform.pipeline.assets import ods_key, raw_key
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.partitions import raw_partition_key, raw_partitions, time_partitions
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.shops import ShopSourceResource

DAY1, DAY2 = "2025-10-01", "2025-10-02"


def _stand_ins(ds):
    """Assets with the dataset's raw and ods keys and partitions, so the runs below
    record real materializations and failures for them without a back-end; the one
    for shop pdd_kids fails, as a collection whose object store is broken would."""

    @dg.asset(key=raw_key(ds), partitions_def=raw_partitions(ds))
    def raw(context) -> None:
        if context.partition_key.keys_by_dimension["shop"] == "pdd_kids":
            raise RuntimeError("object store unavailable")

    @dg.asset(key=ods_key(ds), partitions_def=time_partitions(ds))
    def ods() -> None:
        return None

    return raw, ods


def _run(asset, instance, partition_key):
    return dg.materialize([asset], partition_key=partition_key, instance=instance, raise_on_error=False)


@pytest.fixture
def mixed_instance(catalog, instance):
    """pdd/badscore: DAY1 flagship+outlet collected and published, kids failed;
    DAY2 flagship being collected; the rest never ran."""
    ds = catalog.platforms["pdd"].datasets["badscore"]
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    raw, ods = _stand_ins(ds)
    for shop in ("pdd_flagship", "pdd_outlet"):
        assert _run(raw, instance, raw_partition_key(DAY1, shop)).success
    assert not _run(raw, instance, raw_partition_key(DAY1, "pdd_kids")).success
    assert _run(ods, instance, DAY1).success
    instance.add_run(dg.DagsterRun(
        job_name=collect_job_name(ds), run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
        tags=partition_tags(f"{DAY2}|pdd_flagship"),
    ))
    return ds


def test_matrix_shows_each_state(mixed_instance, instance, catalog):
    ds = mixed_instance
    periods = recent_periods(ds, date(2025, 10, 3), 2)
    assert [p.key for p in periods] == [DAY1, DAY2]
    status = dataset_status(instance, catalog, ds, periods)

    assert status.shops == ["pdd_flagship", "pdd_kids", "pdd_outlet"]
    assert status.state("pdd_flagship", DAY1) == MATERIALIZED
    assert status.state("pdd_outlet", DAY1) == MATERIALIZED
    assert status.state("pdd_kids", DAY1) == FAILED
    assert status.state("pdd_flagship", DAY2) == RUNNING
    assert status.state("pdd_outlet", DAY2) == MISSING
    assert status.published == {DAY1: MATERIALIZED, DAY2: MISSING}

    lines = render(status).splitlines()
    assert lines[1].split() == [DAY1, DAY2]
    assert lines[2].split() == ["pdd_flagship", "ok", "run"]
    assert lines[3].split() == ["pdd_kids", "FAIL", "-"]
    assert lines[5].split() == ["(published)", "ok", "-"]


def test_status_command_reads_dagster_home(mixed_instance, instance, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    code = cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "2", "--json"])
    assert code == 0
    [table] = json.loads(capsys.readouterr().out)["datasets"]
    assert table["shops"]["pdd_kids"] == {DAY1: FAILED, DAY2: MISSING}
    assert table["published"][DAY1] == MATERIALIZED


def test_weekly_periods_are_windows(catalog):
    weekly = next(ds for ds in catalog.datasets() if ds.cadence.value == "weekly")
    periods = recent_periods(weekly, date(2025, 10, 18), 14)
    assert all(isinstance(p, Period) and (p.end - p.start).days == 6 for p in periods)
    assert len(periods) == 2


def test_unknown_dataset_is_named(capsys):
    assert cli.main(["status", "--dataset", "pdd/nope"]) == 1
    assert "pdd/nope" in capsys.readouterr().err
