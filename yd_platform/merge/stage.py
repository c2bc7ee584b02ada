"""The `merged` stage: every shop's raw file of one period into one Excel + parquet."""

from __future__ import annotations

import io

import dagster as dg
import pandas as pd

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import period_from_key
from yd_platform.pipeline.layout import merged_excel, merged_parquet, raw_prefix


def merge_partition(store, ds: DatasetSpec, key: str) -> dict[str, object]:
    period = period_from_key(ds.cadence, key)
    rename = {alias: c.name for c in ds.columns for alias in [c.name, *c.aliases]}
    frames = []
    for obj in store.list(raw_prefix(ds, key)):
        shop = obj.key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        df = pd.read_excel(io.BytesIO(store.get_bytes(obj.key)), engine="calamine", dtype=str)
        df = df.rename(columns=rename)
        df.insert(0, "shop_id", shop)
        frames.append(df)
    if not frames:
        raise dg.Failure(f"{ds.slug} {key}: no raw files under {raw_prefix(ds, key)}")
    merged = pd.concat(frames, ignore_index=True)
    merged.insert(0, "platform", ds.platform)
    merged["period"] = period.label
    xlsx = io.BytesIO()
    merged.to_excel(xlsx, index=False)
    store.put_bytes(merged_excel(ds, key), xlsx.getvalue())
    store.put_bytes(merged_parquet(ds, key), merged.to_parquet(index=False))
    return {"rows": len(merged), "shops": len(frames)}


def materialize_merged(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    store = context.resources.object_store.client()
    results = {key: merge_partition(store, ds, key) for key in context.partition_keys}
    return dg.MaterializeResult(
        metadata={
            "rows": sum(r["rows"] for r in results.values()),
            "shops": max(r["shops"] for r in results.values()),
            "excel": merged_excel(ds, context.partition_keys[-1]),
        }
    )
