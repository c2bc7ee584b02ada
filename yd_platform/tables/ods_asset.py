"""The `ods` asset of a dataset: the merged parquet as a Hive partition of the dataset's table.

Each partition of the run is replaced on the object store (see `tables.ods`), then the
`table_engine` resource is refreshed once for the run (`tables.refresh`: Dremio
metadata refresh, or a DuckDB read-back of the written partitions).
"""

from __future__ import annotations

from urllib.parse import unquote

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.automation import for_dataset
from yd_platform.datasets.column_metadata import column_schema
from yd_platform.datasets.keys import dataset_about, dataset_asset_args, merged_key, ods_key
from yd_platform.datasets.partitions import range_backfill_policy, time_partitions
from yd_platform.datasets.schema import merged_schema
from yd_platform.tables.duckdb_engine import table_schema
from yd_platform.tables.ods import OdsError, PublishedPartition, publish_partition
from yd_platform.tables.old_shape import old_table_name, typed_table_name
from yd_platform.tables.refresh import refresh_table


def build_ods_asset(ds: DatasetSpec) -> dg.AssetsDefinition:
    """Per period; follows by automation once the period's merged file passed its blocking checks."""

    @dg.asset(
        key=ods_key(ds),
        deps=[merged_key(ds)],
        partitions_def=time_partitions(ds),
        automation_condition=for_dataset(ds),
        backfill_policy=range_backfill_policy(),
        description=f"{dataset_about(ds)}\n\nTable {typed_table_name(ds)}: Hive-partitioned parquet under "
                    f"{ds.object_path}; in the old shape (`shop` and the report's headers, as text) the view "
                    f"{old_table_name(ds)}.",
        kinds={"parquet", "s3", *ds.kinds},
        required_resource_keys={"object_store", "table_engine"},
        **dataset_asset_args(ds),
    )
    def ods(context):  # unannotated: Dagster cannot resolve a postponed annotation
        return materialize_ods(context, ds)

    return ods


def materialize_ods(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    store_resource = context.resources.object_store
    store = store_resource.client()
    published: list[PublishedPartition] = []
    for key in context.partition_keys:
        try:
            published.append(publish_partition(store, ds, key))
        except OdsError as exc:
            raise dg.Failure(description=str(exc), metadata={"partition": key}) from exc
        context.log.info(f"{typed_table_name(ds)} {key}: {published[-1].rows} rows at {published[-1].uri}")
    written = {p.partition: p.rows for p in published}
    try:
        refreshed = refresh_table(context.resources.table_engine, ds, written, store_resource)
    except Exception as exc:  # noqa: BLE001 - engine errors carry their own clear message
        raise dg.Failure(description=f"{typed_table_name(ds)}: partitions written, but refreshing the table "
                                     f"failed: {exc}",
                         metadata={"partitions": ", ".join(p.partition for p in published)}) from exc
    return dg.MaterializeResult(metadata=ods_metadata(ds, published, refreshed))


def ods_metadata(ds: DatasetSpec, published: list[PublishedPartition], refreshed: dict) -> dict[str, object]:
    last = published[-1]
    meta: dict[str, object] = {
        "table": typed_table_name(ds),
        "dagster/table_name": typed_table_name(ds),
        "old_shape_view": old_table_name(ds),
        "dagster/row_count": sum(p.rows for p in published),
        "dagster/column_schema": column_schema(table_schema(ds), ds),
        "partition_path": dg.MetadataValue.path(unquote(last.uri.rsplit("/", 1)[0]) + "/"),
        "bytes": sum(p.bytes for p in published),
        "partitions": len(published),
        "columns": len(merged_schema(ds)),
        **refreshed,
    }
    if len(published) > 1:
        meta["rows_per_partition"] = dg.MetadataValue.json({p.partition: p.rows for p in published})
    removed = [k for p in published for k in p.removed]
    if removed:
        meta["replaced_objects"] = len(removed)
    return meta
