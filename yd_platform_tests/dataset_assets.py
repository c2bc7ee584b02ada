"""A dataset's three assets as their stages declare them, materialized in-process with the
resources a test gives them (no environment variable decides where they read and write)."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.collect.raw_asset import build_raw_asset
from yd_platform.datasets.keys import stage_key
from yd_platform.merge.merged_asset import build_merged_asset
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.resources.table_engine import TableEngineResource
from yd_platform.tables.ods_asset import build_ods_asset


def dataset_assets(ds: DatasetSpec) -> list[dg.AssetsDefinition]:
    """[raw, merged, ods] of `ds`."""
    return [build_raw_asset(ds), build_merged_asset(ds), build_ods_asset(ds)]


def local_resources(root) -> dict[str, object]:
    """The object store in the folder `root` and the DuckDB table engine: the embedded
    default's resources, without its environment."""
    return {"object_store": ObjectStoreResource(backend="local", root=str(root)),
            "table_engine": TableEngineResource(engine="duckdb")}


def publish(ds: DatasetSpec, partition_key: str, resources: dict, instance=None,
            stages=("merged", "ods")) -> dg.ExecuteInProcessResult:
    """Materialize the dataset's merged (and ods) assets for one partition in-process."""
    keys = {stage_key(ds, stage) for stage in stages}
    assets = [a for a in dataset_assets(ds) if a.key in keys]
    return dg.materialize(assets, partition_key=partition_key, resources=resources,
                          instance=instance, raise_on_error=False)
