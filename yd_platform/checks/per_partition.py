"""Record a check's result for every partition of the run, ranged runs included.

`AssetCheckResult` carries no partition: in a run over a range (a backfill with
`BackfillPolicy`) Dagster would store one evaluation without a partition and leave every
planned partition "Skipped". The instance stores an evaluation per partition when the
`AssetCheckEvaluation` names it, so a check yields one per partition key of the run plus
the check's (empty) output. A failed blocking ERROR evaluation still fails the check step,
which keeps the downstream asset of the same run from running; automation then requests
it for the partitions whose blocking checks passed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from yd_platform.checks.evaluate import Outcome


def materialization_data(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str):
    """The materialization of `partition` the check looked at (None when there is none)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=records[0].run_id, storage_id=records[0].storage_id, timestamp=records[0].timestamp
    )


class PartitionResults:
    """Emit per-partition evaluations for the checks of one `multi_asset_check` run."""

    def __init__(self, context: dg.AssetCheckExecutionContext):
        self.context = context
        self.assets_def = context.op_execution_context.assets_def
        self.selected = context.selected_asset_check_keys
        self._target = cache(lambda asset_key, key: materialization_data(context.instance, asset_key, key))

    def emit(self, asset_key: dg.AssetKey, check_name: str, severity: dg.AssetCheckSeverity,
             outcomes: Mapping[str, Outcome], extra: Mapping[str, object] | None = None,
             ) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
        """The check's output, then one evaluation per partition (in key order)."""
        check_key = dg.AssetCheckKey(asset_key, check_name)
        if check_key not in self.selected:
            return
        spec = self.assets_def.get_spec_for_check_key(check_key)
        yield dg.Output(None, output_name=self.assets_def.get_output_name_for_asset_check_key(check_key))
        for key, outcome in sorted(outcomes.items()):
            yield dg.AssetCheckEvaluation(
                asset_key=asset_key, check_name=check_name, passed=outcome.passed, severity=severity,
                description=outcome.description, blocking=spec.blocking, partition=key,
                metadata={"partition": key, **outcome.all_metadata(), **dict(extra or {})},
                target_materialization_data=self._target(asset_key, key),
            )
