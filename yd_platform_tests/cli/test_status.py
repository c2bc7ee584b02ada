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
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import ods_key, raw_key
from yd_platform.datasets.partitions import (
    raw_partition_key,
    raw_partitions,
    time_partitions,
)
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.resources.dagster_webserver import partition_tags
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


def test_status_command_reads_dagster_home(mixed_instance, instance, yd_home, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    code = cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "2", "--json"])
    assert code == 1  # pdd_kids failed on DAY1
    answer = json.loads(capsys.readouterr().out)
    [table] = answer["datasets"]
    assert table["shops"]["pdd_kids"] == {DAY1: FAILED, DAY2: MISSING}
    assert table["published"][DAY1] == MATERIALIZED
    assert answer["failures"] == ["1 failed partition(s)"]

    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "2"]) == 1
    assert "failing: 1 failed partition(s)" in capsys.readouterr().out


def test_status_exits_0_when_nothing_fails(mixed_instance, instance, yd_home, monkeypatch, capsys):
    """The days after the failure: DAY2 only has a run in progress and shops not collected yet."""
    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "nothing failing" in out and "failing checks: none" in out


def test_help_says_what_makes_status_fail(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status:" in text and "1 a shop-period or published period shown FAILED" in text
    assert "ERROR check" in text and "missing and running cells do not count" in text


def test_weekly_periods_are_windows(catalog):
    weekly = next(ds for ds in catalog.datasets() if ds.cadence.value == "weekly")
    periods = recent_periods(weekly, date(2025, 10, 18), 14)
    assert all(isinstance(p, Period) and (p.end - p.start).days == 6 for p in periods)
    assert len(periods) == 2


def test_unknown_dataset_is_named(capsys):
    assert cli.main(["status", "--dataset", "pdd/nope"]) == 1
    assert "pdd/nope" in capsys.readouterr().err


def test_a_failing_error_check_makes_status_exit_1(yd_home, embedded_store, instance, catalog, monkeypatch,
                                                     capsys):
    """A real publish run fails its blocking `keys_unique` check; the notify sensor records
    it as failing in the app database, which is where status reads checks from. Shown on a
    day whose cells are all missing, the failing checks alone make the exit status 1."""
    from yd_platform.definitions import build_definitions
    from yd_platform.notify.defs import SENSOR_NAME
    from yd_platform.outbox.channel_resources import ChannelsResource
    from yd_platform.resources.app_db import AppDatabaseResource
    from yd_platform_tests.failing_check import publish_with_duplicate_keys

    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    day_before = ["status", "--dataset", "pdd/badscore", "--date", DAY2, "--days", "1", "--json"]
    assert cli.main(day_before) == 0  # nothing has run yet: nothing failing
    assert json.loads(capsys.readouterr().out)["failures"] == []

    defs = build_definitions(catalog)
    assert not publish_with_duplicate_keys(defs, catalog, instance, embedded_store, DAY2).success
    app_db = AppDatabaseResource(url=f"sqlite:///{yd_home / 'app.db'}")
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources={"app_db": app_db, "alert_channels": ChannelsResource()}) as context:
        defs.resolve_sensor_def(SENSOR_NAME)(context)

    assert cli.main(day_before) == 1
    answer = json.loads(capsys.readouterr().out)
    [table] = answer["datasets"]
    assert set(table["published"].values()) == {MISSING}  # period 2025-10-01: no failed cell shown
    failing = {(c["check"], c["partition"], c["severity"]) for c in answer["failing_checks"]}
    assert ("keys_unique", DAY2, "ERROR") in failing
    assert answer["failures"] == [f"{len(failing)} ERROR check(s) failing"]

    # the period of the failed run itself: its published cell failed too
    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "1"]) == 1
    out = capsys.readouterr().out
    assert "keys_unique" in out and f"failing: 1 failed partition(s), {len(failing)} ERROR check(s) failing" in out
