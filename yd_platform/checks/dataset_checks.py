"""Checks generated for every dataset's `merged` and `ods` assets.

All of a stage's data checks run in one op per asset (each partition is read once) and
are partitioned like the asset; every partition of a run, ranged runs included, gets its
own result, so the UI shows a status per period. `rows_nonzero` and
`keys_unique` are blocking: when they fail, nothing downstream of that asset runs for the
partition (ods after merged, user_tags after ods).
"""

from collections.abc import Callable
from functools import cache

import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.checks import evaluate
from yd_platform.checks.data import partition_row_count, read_partition
from yd_platform.checks.history import previous_keys
from yd_platform.checks.per_partition import PartitionResults
from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.datasets.partitions import shop_partitions, time_partitions

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN

# name -> (severity, blocking, description)
DATA_CHECKS: dict[str, tuple[dg.AssetCheckSeverity, bool, str]] = {
    "rows_nonzero": (ERROR, True, "The partition has at least one row."),
    "shops_present": (ERROR, False, "Every active shop of the platform has rows in the partition."),
    "schema_matches": (ERROR, False, "Declared columns present, required ones filled, values fit their type."),
    "keys_unique": (ERROR, True, "The declared key (per shop) identifies one row."),
    "volume_normal": (WARN, False, "Row count within the tolerance of the trailing partitions' average."),
}
CHECK_RESOURCES = {"object_store", "shop_source"}
# When automation requests the asset, its checks are requested into the same run; that is
# also what lets `all_deps_blocking_checks_passed` request the downstream asset in that tick.
WITH_ASSET = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.will_be_requested()).with_label(
    "with its asset"
)


def active_shops(context, catalog: Catalog, platform: str) -> list[str]:
    """The platform's shop partitions; the shop source when none are registered yet."""
    shops = context.instance.get_dynamic_partitions(shop_partitions(platform).name)
    if shops:
        return list(shops)
    return [s.id for s in context.resources.shop_source.active_shops(catalog, platform)]


def evaluate_partition(store, ds: DatasetSpec, stage: str, key: str, shops: list[str],
                       row_count: Callable[[str], int | None]) -> dict[str, evaluate.Outcome]:
    """`row_count(key)` gives an earlier partition's row count (None when absent)."""
    table = read_partition(store, ds, stage, key)
    rows = 0 if table is None else table.num_rows
    history = [n for n in map(row_count, previous_keys(ds, key, ds.checks.volume_lookback)) if n is not None]
    return {
        "rows_nonzero": evaluate.row_count(table),
        "shops_present": evaluate.shops_present(table, shops),
        "schema_matches": evaluate.schema_matches(table, ds),
        "keys_unique": evaluate.keys_unique(table, ds),
        "volume_normal": evaluate.volume_normal(rows, history, ds.checks.volume_tolerance_pct),
    }


def build_data_checks(catalog: Catalog, ds: DatasetSpec, stage: str) -> dg.AssetChecksDefinition:
    asset_key = merged_key(ds) if stage == "merged" else ods_key(ds)
    partitions = time_partitions(ds)
    specs = [
        dg.AssetCheckSpec(name, asset=asset_key, blocking=blocking, description=text,
                          partitions_def=partitions, metadata={"severity": severity.value},
                          automation_condition=WITH_ASSET)
        for name, (severity, blocking, text) in DATA_CHECKS.items()
    ]

    @dg.multi_asset_check(
        name=f"{ds.slug}__{stage}__data_checks",
        specs=specs,
        required_resource_keys=CHECK_RESOURCES,
        description=f"Data checks of {ds.name} ({ds.platform}/{ds.code}) {stage}.",
    )
    def _checks(context: dg.AssetCheckExecutionContext):
        store = context.resources.object_store.client()
        arrow_fs = context.resources.object_store.arrow_filesystem()
        shops = active_shops(context, catalog, ds.platform)
        # A range run's partitions share most of their trailing history: count each once.
        row_count = cache(lambda key: partition_row_count(store, arrow_fs, ds, stage, key))
        per_key = {key: evaluate_partition(store, ds, stage, key, shops, row_count)
                   for key in context.partition_keys}
        results = PartitionResults(context)
        for name, (severity, _blocking, _text) in DATA_CHECKS.items():
            yield from results.emit(asset_key, name, severity, {k: o[name] for k, o in per_key.items()})

    return _checks


def build_all_data_checks(catalog: Catalog) -> list[dg.AssetChecksDefinition]:
    return [build_data_checks(catalog, ds, stage) for ds in catalog.datasets() for stage in ("merged", "ods")]
