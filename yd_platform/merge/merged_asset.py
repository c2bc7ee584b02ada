"""The `merged` asset of a dataset: every shop's raw file of one period into one Excel + parquet.

A bad shop file fails the partition with a message naming file, sheet, row and column,
and nothing is written (the previous good outputs stay). With `quarantine_bad_files`
on the dataset, the bad file is copied to `quarantine/` and the other shops merge.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.automation import for_dataset
from yd_platform.datasets.column_metadata import column_schema
from yd_platform.datasets.keys import dataset_about, dataset_asset_args, merged_key, raw_key
from yd_platform.datasets.partitions import DATE_DIM, range_backfill_policy, time_partitions
from yd_platform.datasets.schema import merged_schema
from yd_platform.merge.errors import MergeError
from yd_platform.merge.merger import MergeOutcome, merge_partition


def build_merged_asset(ds: DatasetSpec) -> dg.AssetsDefinition:
    """Per period; follows by automation once every active shop's raw file of the period is in."""

    @dg.asset(
        key=merged_key(ds),
        deps=[
            dg.AssetDep(
                raw_key(ds),
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=DATE_DIM),
            )
        ],
        partitions_def=time_partitions(ds),
        automation_condition=for_dataset(ds),
        backfill_policy=range_backfill_policy(),
        description=f"{dataset_about(ds)}\n\nAll shops of one period merged into one Excel file and parquet.",
        kinds={"excel", "parquet", "pandas"},
        required_resource_keys={"object_store"},
        **dataset_asset_args(ds),
    )
    def merged(context):  # unannotated: Dagster cannot resolve a postponed annotation
        return materialize_merged(context, ds)

    return merged


def materialize_merged(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    store = context.resources.object_store.client()
    outcomes: list[MergeOutcome] = []
    for key in context.partition_keys:
        try:
            outcomes.append(merge_partition(store, ds, key, log=context.log))
        except MergeError as exc:
            done = ", ".join(o.partition for o in outcomes) or "none"
            raise dg.Failure(description=str(exc),
                             metadata={"partition": key, "partitions_merged_before": done}) from exc
        context.log.info(f"{ds.slug} {key}: {outcomes[-1].rows} rows from {len(outcomes[-1].shops)} shops")
    return dg.MaterializeResult(metadata=merged_metadata(store, ds, outcomes))


def merged_metadata(store, ds: DatasetSpec, outcomes: list[MergeOutcome]) -> dict[str, object]:
    last = outcomes[-1]
    quarantined = [
        {"partition": o.partition, "shop": q.shop, "file": q.source, "kept_at": q.kept_at, "error": q.error}
        for o in outcomes for q in o.quarantined
    ]
    meta: dict[str, object] = {
        "dagster/row_count": sum(o.rows for o in outcomes),
        "dagster/column_schema": column_schema(merged_schema(ds), ds),
        "partitions": len(outcomes),
        "shops": max(len(o.shops) for o in outcomes),
        "exact_duplicate_rows_dropped": sum(o.duplicates_dropped for o in outcomes),
        "footer_rows_dropped": sum(o.footer_rows_dropped for o in outcomes),
        "quarantined_files": len(quarantined),
        "excel": dg.MetadataValue.path(store.uri(last.excel_key)),
        "parquet": dg.MetadataValue.path(store.uri(last.parquet_key)),
        "excel_sheets": ", ".join(last.excel_sheets),
        "bytes": sum(o.parquet_bytes + o.excel_bytes for o in outcomes),
    }
    if len(outcomes) > 1:
        meta["rows_per_partition"] = dg.MetadataValue.json({o.partition: o.rows for o in outcomes})
    else:
        meta["rows_per_shop"] = dg.MetadataValue.json(last.rows_per_shop)
    if any(len(o.excel_sheets) > 1 for o in outcomes):
        meta["excel_note"] = ("more rows than one xlsx sheet holds (1,048,576): "
                              "the Excel file continues on further sheets")
    unknown = {f"{o.partition} {shop}": headers for o in outcomes for shop, headers in o.unknown_headers.items()}
    if unknown:
        meta["warning_unknown_headers"] = (
            "headers no alias in platforms.yaml knows were kept in extra_columns (JSON per row): "
            + "; ".join(f"{where}: {', '.join(headers)}" for where, headers in unknown.items()))
        meta["unknown_headers"] = dg.MetadataValue.json(unknown)
    if quarantined:
        meta["quarantine"] = dg.MetadataValue.md(_quarantine_md(quarantined))
        meta["quarantine_list"] = dg.MetadataValue.json(quarantined)
    return meta


def _quarantine_md(items: list[dict]) -> str:
    lines = ["| partition | shop | kept at | error |", "|---|---|---|---|"]
    for q in items:
        lines.append(f"| {q['partition']} | {q['shop']} | {q['kept_at']} | {q['error'].replace('|', '/')} |")
    return "\n".join(lines)
