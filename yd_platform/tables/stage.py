"""The `ods` stage: the merged parquet as a Hive partition of the dataset's table."""

from __future__ import annotations

import io
import uuid

import dagster as dg
import pandas as pd

from yd_platform.catalog import DatasetSpec
from yd_platform.pipeline.layout import merged_parquet, ods_partition_prefix


def materialize_ods(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    """Replace each partition's objects: write the new file first, then drop the old ones."""
    store = context.resources.object_store.client()
    rows = {}
    for key in context.partition_keys:
        df = pd.read_parquet(io.BytesIO(store.get_bytes(merged_parquet(ds, key))))
        prefix = ods_partition_prefix(ds, key)
        old = [o.key for o in store.list(prefix)]
        new = f"{prefix}/part-{uuid.uuid4().hex}.parquet"
        store.put_bytes(new, df.to_parquet(index=False))
        store.delete([k for k in old if k != new])
        rows[key] = len(df)
    return dg.MaterializeResult(
        metadata={"table": ds.table, "rows": sum(rows.values()), "partitions": len(rows),
                  "path": ods_partition_prefix(ds, context.partition_keys[0])}
    )
