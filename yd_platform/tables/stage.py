"""The `ods` stage: the merged parquet as a Hive partition of the dataset's table.

Each partition of the run is replaced on the object store (see `tables.ods`), then the
`table_engine` resource (chosen by YD_TABLE_ENGINE) is refreshed once for the run
(Dremio metadata refresh, or a DuckDB read-back of the written partitions).
"""

from __future__ import annotations

from urllib.parse import unquote

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.merge.schema import merged_schema
from yd_platform.tables.duckdb_engine import table_schema
from yd_platform.tables.metadata import column_schema
from yd_platform.tables.ods import OdsError, PublishedPartition, publish_partition


def materialize_ods(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    store_resource = context.resources.object_store
    store = store_resource.client()
    published: list[PublishedPartition] = []
    for key in context.partition_keys:
        try:
            published.append(publish_partition(store, ds, key))
        except OdsError as exc:
            raise dg.Failure(description=str(exc), metadata={"partition": key}) from exc
        context.log.info(f"{ds.table} {key}: {published[-1].rows} rows at {published[-1].uri}")
    written = {p.partition: p.rows for p in published}
    try:
        refreshed = context.resources.table_engine.refresh(ds, written, store_resource)
    except Exception as exc:  # noqa: BLE001 - engine errors carry their own clear message
        raise dg.Failure(description=f"{ds.table}: partitions written, but refreshing the table failed: {exc}",
                         metadata={"partitions": ", ".join(p.partition for p in published)}) from exc
    return dg.MaterializeResult(metadata=ods_metadata(ds, published, refreshed))


def ods_metadata(ds: DatasetSpec, published: list[PublishedPartition], refreshed: dict) -> dict[str, object]:
    last = published[-1]
    meta: dict[str, object] = {
        "table": ds.table,
        "dagster/table_name": ds.table,
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
