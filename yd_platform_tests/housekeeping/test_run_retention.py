"""Old runs leave a real instance (SQLite, and the production MySQL storage on MariaDB),
recent ones and those holding an asset partition's newest materialization stay."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from yd_platform.housekeeping.config import load_housekeeping_config
from yd_platform.housekeeping.run_retention import delete_old_runs_job

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(partitions_def=DAYS)
def daily(context: dg.AssetExecutionContext) -> None:
    print(f"daily {context.partition_key}")  # captured as the step's stdout


@dg.asset
def snapshot() -> None:
    print("snapshot")


@dg.op
def broken() -> None:
    raise RuntimeError("a failed run materializes nothing")


@dg.job
def broken_job():
    broken()


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.slow)])
def instance(request):
    overrides = {}
    if request.param == "mysql":
        overrides = {"storage": {"mysql": {"mysql_url": request.getfixturevalue("mysql_url")}}}
    with dg.instance_for_test(overrides=overrides) as inst:
        yield inst


def materialize(instance, asset, when: datetime, partition: str | None = None) -> str:
    with freeze_time(when):
        result = dg.materialize([asset], instance=instance, partition_key=partition)
    assert result.success
    return result.run_id


def compute_log_dirs(instance) -> set[str]:
    base = Path(instance.compute_log_manager._base_dir)  # LocalComputeLogManager of instance_for_test
    return {p.name for p in base.iterdir()} if base.exists() else set()


def test_old_runs_go_newest_materializations_and_recent_runs_stay(instance):
    old, recent = NOW - timedelta(days=100), NOW - timedelta(days=1)
    superseded = materialize(instance, daily, old, "2026-01-01")
    still_newest = materialize(instance, daily, old, "2026-01-02")
    newest_snapshot = materialize(instance, snapshot, old)
    with freeze_time(old):
        failed = broken_job.execute_in_process(instance=instance, raise_on_error=False).run_id
    newer = materialize(instance, daily, recent, "2026-01-01")
    with freeze_time(recent):
        recent_failed = broken_job.execute_in_process(instance=instance, raise_on_error=False).run_id
    assert superseded in compute_log_dirs(instance)

    with freeze_time(NOW):
        result = delete_old_runs_job.execute_in_process(
            instance=instance, run_config={"ops": {"delete_old_runs_op": {"config": {"keep_days": 90}}}})
    assert result.success
    assert result.output_for_node("delete_old_runs_op") == 2

    remaining = set(instance.get_run_ids())
    assert superseded not in remaining and failed not in remaining
    assert {still_newest, newest_snapshot, newer, recent_failed, result.run_id} <= remaining
    # what the UI shows: both partitions and the snapshot are still materialized, by the runs that made them
    assert instance.get_materialized_partitions(daily.key) == {"2026-01-01", "2026-01-02"}
    assert instance.get_latest_materialization_event(snapshot.key).run_id == newest_snapshot
    assert superseded not in compute_log_dirs(instance) and failed not in compute_log_dirs(instance)
    assert newer in compute_log_dirs(instance)


def test_keep_days_comes_from_the_housekeeping_file():
    op_config = delete_old_runs_job.graph.node_named("delete_old_runs_op").definition.config_schema
    default = op_config.config_type.fields["keep_days"].default_value
    assert default == load_housekeeping_config().runs.keep_days == 90
