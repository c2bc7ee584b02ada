"""Publish a merged partition as the ODS table's Hive partition on the object store.

The partition is the folder `dt=<value>` (see `pipeline.partitions`) and holds one data
file with a fixed name. Replacing it is one PUT (atomic on
S3/MinIO, a rename on the local folder), so a reader sees the old rows or the new rows,
never both and never a half-written file. Objects of an older layout under the
partition are removed only after the new file is in place.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from yd_platform.catalog import DatasetSpec
from yd_platform.merge.schema import merged_schema
from yd_platform.pipeline.layout import merged_parquet, ods_partition_prefix
from yd_platform.pipeline.partitions import ODS_PARTITION_COLUMN, ods_partition_of_value

DATA_FILE = "part-00000.parquet"


class OdsError(RuntimeError):
    """The merged input of a partition is missing or does not have the table's schema."""


@dataclass(frozen=True)
class PublishedPartition:
    partition: str
    prefix: str
    key: str
    uri: str
    rows: int
    bytes: int
    removed: tuple[str, ...]


def ods_data_key(ds: DatasetSpec, partition: str) -> str:
    return f"{ods_partition_prefix(ds, partition)}/{DATA_FILE}"


def is_data_file(key: str) -> bool:
    """A parquet file of the table; hidden and in-progress names (`.x`, `_x`) are not."""
    name = key.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def ods_files(store, ds: DatasetSpec, partition: str | None = None) -> list[str]:
    """Keys of the table's data files: one partition's, or every partition's.

    The one listing every reader uses (checks, DuckDB, the tag features), so they all
    agree on which files make up the table. Files outside a partition folder (a stray
    `week=` folder, a `dt=` range that is no period of the dataset) are not the table's.
    """
    if partition:
        return [o.key for o in store.list(ods_partition_prefix(ds, partition)) if is_data_file(o.key)]
    return [o.key for o in store.list(ds.object_path)
            if is_data_file(o.key) and ods_partition_key(ds, o.key) is not None]


def ods_partition_key(ds: DatasetSpec, key: str) -> str | None:
    """The Dagster partition key (`2025-09` for `dt=2025-09-01_2025-09-30/…`) of an object
    key of the table; None outside a partition folder."""
    base = ds.object_path.strip("/") + "/"
    if not key.startswith(base):
        return None
    column, sep, value = key[len(base):].split("/", 1)[0].partition("=")
    return ods_partition_of_value(ds, value) if sep and column == ODS_PARTITION_COLUMN else None


def schema_problems(actual: pa.Schema, expected: pa.Schema) -> list[str]:
    problems = []
    if actual.names != expected.names:
        problems.append(f"columns {actual.names} != expected {expected.names}")
    for f in expected:
        if f.name in actual.names and not actual.field(f.name).type.equals(f.type):
            problems.append(f"{f.name}: {actual.field(f.name).type} != expected {f.type}")
    return problems


def publish_partition(store, ds: DatasetSpec, partition: str) -> PublishedPartition:
    source = merged_parquet(ds, partition)
    if not store.exists(source):
        raise OdsError(f"{ds.slug} {partition}: no merged parquet at {source}; materialize "
                       f"{ds.platform}/{ds.code}/merged for this partition first")
    prefix = ods_partition_prefix(ds, partition)
    target = ods_data_key(ds, partition)
    with tempfile.TemporaryDirectory(prefix="yd-ods-") as scratch:
        local = Path(scratch, DATA_FILE)
        store.download(source, local)
        parquet = pq.ParquetFile(local)
        problems = schema_problems(parquet.schema_arrow, merged_schema(ds))
        if problems:
            raise OdsError(f"{ds.slug} {partition}: {source} does not have the table schema of "
                           f"{ds.table} ({'; '.join(problems)}); rerun the merged partition")
        rows = parquet.metadata.num_rows
        size = os.path.getsize(local)
        old = [o.key for o in store.list(prefix) if o.key != target]
        store.put_file(target, local)
    store.delete(old)
    return PublishedPartition(partition, prefix, target, store.uri(target), rows, size, tuple(old))
