"""Old runs leave the instance: Dagster keeps every run, its event log and its step logs
forever, which over a year fills the database and the bucket and slows the UI's run lists.

A finished run created more than `runs.keep_days` ago is deleted with `instance.delete_run`
(run row and event log) and its captured step logs (the compute log manager: the bucket's
dagster/compute-logs in production). Kept whatever its age: a run that still holds the
newest materialization of an asset or asset partition, since deleting it would make the
partition look never materialized (and the automation sensors would run it again).
"""


from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dagster as dg
from pydantic import Field

from yd_platform.housekeeping.config import load_housekeeping_config

JOB_NAME = "yd_housekeeping_delete_old_runs"
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


@dataclass
class RetentionOutcome:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # old, but holding a newest materialization


class _NewestMaterializations:
    """Which run made the newest materialization of an asset (partition); looked up once
    per asset partition."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance = instance
        self.newest: dict[tuple[dg.AssetKey, str | None], str | None] = {}

    def run_id(self, key: dg.AssetKey, partition: str | None) -> str | None:
        if (key, partition) not in self.newest:
            records_filter = dg.AssetRecordsFilter(
                asset_key=key, asset_partitions=[partition] if partition is not None else None)
            found = self.instance.fetch_materializations(records_filter, limit=1).records
            self.newest[(key, partition)] = found[0].run_id if found else None
        return self.newest[(key, partition)]

    def held_by(self, run_id: str) -> bool:
        records = self.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        return any(r.asset_key is not None and self.run_id(r.asset_key, r.partition_key) == run_id
                   for r in records)


def delete_old_runs(instance: dg.DagsterInstance, keep_days: int, now: datetime | None = None) -> RetentionOutcome:
    """Deletes the finished runs created more than `keep_days` before `now` (see the module)."""
    cutoff = (now or datetime.now().astimezone()) - timedelta(days=keep_days)
    newest = _NewestMaterializations(instance)
    outcome = RetentionOutcome()
    for run_id in instance.get_run_ids(dg.RunsFilter(statuses=FINISHED, created_before=cutoff)):
        if newest.held_by(run_id):
            outcome.kept.append(run_id)
            continue
        instance.delete_run(run_id)
        instance.compute_log_manager.delete_logs(prefix=[run_id])
        outcome.deleted.append(run_id)
    return outcome


# No `from __future__ import annotations` in this module: Dagster reads the op's config
# annotation when the op is defined. The default is the file's value, shown in the launchpad.
class RunRetentionConfig(dg.Config):
    keep_days: int = Field(
        default=load_housekeeping_config().runs.keep_days, ge=1,
        description="finished runs created more than this many days ago are deleted (config/housekeeping.yaml)")


@dg.op(description="Delete finished runs older than keep_days, except those holding a newest materialization")
def delete_old_runs_op(context: dg.OpExecutionContext, config: RunRetentionConfig) -> dg.Output[int]:
    outcome = delete_old_runs(context.instance, config.keep_days)
    context.log.info(f"deleted {len(outcome.deleted)} runs created over {config.keep_days} days ago; "
                     f"kept {len(outcome.kept)} that hold the newest materialization of an asset partition")
    return dg.Output(len(outcome.deleted), metadata={
        "deleted runs": len(outcome.deleted), "kept old runs": len(outcome.kept), "keep_days": config.keep_days})


@dg.job(name=JOB_NAME, description=__doc__.split("\n\n")[0])
def delete_old_runs_job():
    delete_old_runs_op()
