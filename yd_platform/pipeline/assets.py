"""The dataset asset factory: each catalog dataset becomes raw -> merged -> ods.

Stage bodies live in their stage packages (collect, merge, tables); this module only
wires keys, partitions, dependencies, automation and UI metadata from the catalog.
"""


import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.collect.stage import materialize_raw, raw_asset_options
from yd_platform.merge.stage import materialize_merged
from yd_platform.pipeline import automation
from yd_platform.pipeline.partitions import DATE_DIM, raw_partitions, time_partitions
from yd_platform.tables.stage import materialize_ods

RAW_RESOURCES = {"object_store", "shop_source", "collector"}
MERGED_RESOURCES = {"object_store"}
ODS_RESOURCES = {"object_store", "table_engine"}
# A backfill of a year becomes ~12 runs per stage, not 365; stage bodies loop over
# `context.partition_keys`.
PARTITIONS_PER_RUN = 31


STAGES = ("raw", "merged", "ods")


def stage_key(ds: DatasetSpec, stage: str) -> dg.AssetKey:
    """`<platform>/<dataset>/<dataset>_<stage>`: the graph shows a node by the last part of
    its key, so that part names dataset and stage on its own, while `<platform>/<dataset>`
    stays the folder the asset catalog and selections (`key:"pdd/badscore/*"`) find."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    return dg.AssetKey([*ds.key_prefix, f"{ds.code}_{stage}"])


def raw_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "raw")


def merged_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "merged")


def ods_key(ds: DatasetSpec) -> dg.AssetKey:
    return stage_key(ds, "ods")


def _tags(ds: DatasetSpec) -> dict[str, str]:
    return {"yd/platform": ds.platform, "yd/dataset": ds.code, "yd/cadence": ds.cadence.value}


def _metadata(ds: DatasetSpec) -> dict[str, object]:
    when = f"T{ds.offset:+d}" if ds.offset else ("T" if ds.offset == 0 else str(ds.range))
    return {
        "dataset": ds.name,
        "cadence": ds.cadence.value,
        "period_rule": when.replace("+0", ""),
        "schedule": f"{ds.cron} ({ds.timezone})",
        "object_path": ds.object_path,
        "table": ds.table,
        "enabled": ds.enabled,
    }


def build_dataset_assets(ds: DatasetSpec) -> list[dg.AssetsDefinition]:
    common = dict(
        group_name=ds.platform,
        owners=ds.owners,
        tags=_tags(ds),
        metadata=_metadata(ds),
    )
    about = f"{ds.name} ({ds.platform}/{ds.code}). {ds.description}".strip()

    @dg.asset(
        key=raw_key(ds),
        partitions_def=raw_partitions(ds),
        description=f"{about}\n\nOne shop's report file per period, downloaded by the {ds.collector} collector.",
        kinds={"playwright", "excel", *ds.kinds},
        required_resource_keys=RAW_RESOURCES,
        **raw_asset_options(ds),
        **common,
    )
    def raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return materialize_raw(context, ds)

    @dg.asset(
        key=merged_key(ds),
        deps=[
            dg.AssetDep(
                raw_key(ds),
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=DATE_DIM),
            )
        ],
        partitions_def=time_partitions(ds),
        automation_condition=automation.for_dataset(ds),
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN),
        description=f"{about}\n\nAll shops of one period merged into one Excel file and parquet.",
        kinds={"excel", "parquet", "pandas"},
        required_resource_keys=MERGED_RESOURCES,
        **common,
    )
    def merged(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return materialize_merged(context, ds)

    @dg.asset(
        key=ods_key(ds),
        deps=[merged_key(ds)],
        partitions_def=time_partitions(ds),
        automation_condition=automation.for_dataset(ds),
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN),
        description=f"{about}\n\nTable {ds.table}: Hive-partitioned parquet under {ds.object_path}.",
        kinds={"parquet", "s3", *ds.kinds},
        required_resource_keys=ODS_RESOURCES,
        **common,
    )
    def ods(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return materialize_ods(context, ds)

    return [raw, merged, ods]


def build_catalog_assets(catalog: Catalog) -> list[dg.AssetsDefinition]:
    return [a for ds in catalog.datasets() for a in build_dataset_assets(ds)]
