"""Where each stage keeps its files in the object store (one place, so stages agree), and
which files make up an ODS table."""

from __future__ import annotations

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.partitions import ODS_PARTITION_COLUMN, ods_partition_of_value, ods_partition_value

# The one data file of an ODS partition folder.
DATA_FILE = "part-00000.parquet"


def raw_prefix(ds: DatasetSpec, partition: str) -> str:
    return f"raw/{ds.platform}/{ds.code}/{partition}"


def raw_object(ds: DatasetSpec, partition: str, shop: str, ext: str) -> str:
    return f"{raw_prefix(ds, partition)}/{shop}.{ext.lstrip('.')}"


def landing_prefix(ds: DatasetSpec) -> str:
    return f"landing/{ds.platform}/{ds.code}"


def quarantine_prefix(ds: DatasetSpec, partition: str) -> str:
    return f"quarantine/{ds.platform}/{ds.code}/{partition}"


def merged_prefix(ds: DatasetSpec, partition: str) -> str:
    return f"merged/{ds.platform}/{ds.code}/{partition}"


def merged_excel(ds: DatasetSpec, partition: str) -> str:
    return f"{merged_prefix(ds, partition)}/{ds.platform}_{ds.code}_{partition}.xlsx"


def merged_parquet(ds: DatasetSpec, partition: str) -> str:
    return f"{merged_prefix(ds, partition)}/{ds.platform}_{ds.code}_{partition}.parquet"


def ods_partition_prefix(ds: DatasetSpec, partition: str) -> str:
    """The ODS folder of a Dagster partition key, e.g. `ods/pdd/pdd_kpi_monthly/dt=2025-09-01_2025-09-30`."""
    return f"{ds.object_path.strip('/')}/{ODS_PARTITION_COLUMN}={ods_partition_value(ds, partition)}"


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
