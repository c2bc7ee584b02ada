"""Read a dataset partition for checking: the merged parquet or the ODS partition files.

Checks only need pyarrow tables of modest size, so this stays a small reader on top of
the object store instead of a query engine.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.layout import merged_parquet, ods_files

STAGES = ("merged", "ods")


def partition_objects(store, ds: DatasetSpec, stage: str, partition: str) -> list[str]:
    """Object keys holding one partition of `stage` (empty when it was never written)."""
    if stage == "merged":
        key = merged_parquet(ds, partition)
        return [key] if store.exists(key) else []
    if stage == "ods":
        return ods_files(store, ds, partition)
    raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")


def read_partition(store, ds: DatasetSpec, stage: str, partition: str) -> pa.Table | None:
    """The partition's rows as one table, or None when no file exists for it."""
    keys = partition_objects(store, ds, stage, partition)
    if not keys:
        return None
    tables = [pq.read_table(io.BytesIO(store.get_bytes(k))) for k in keys]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


def partition_row_count(store, arrow_fs, ds: DatasetSpec, stage: str, partition: str) -> int | None:
    """Row count from the parquet footers only, or None when the partition is absent.

    `arrow_fs` is the object store's `(filesystem, base)`: the footer is read with ranged
    reads instead of downloading every file of the trailing partitions.
    """
    keys = partition_objects(store, ds, stage, partition)
    if not keys:
        return None
    filesystem, base = arrow_fs
    total = 0
    for key in keys:
        with filesystem.open_input_file(f"{base}/{key}") as f:
            total += pq.ParquetFile(f).metadata.num_rows
    return total
