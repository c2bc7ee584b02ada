"""Publish a merged partition as the ODS table's Hive partition on the object store.

The partition is the folder `dt=<value>` (see `datasets.partitions`) and holds one data
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
from yd_platform.datasets.layout import DATA_FILE, merged_parquet, ods_data_key, ods_partition_prefix
from yd_platform.datasets.schema import merged_schema


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
