"""Where each stage keeps its files in the object store (one place, so stages agree)."""

from __future__ import annotations

from yd_platform.catalog import DatasetSpec
from yd_platform.pipeline.partitions import ODS_PARTITION_COLUMN, ods_partition_value


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
