"""The `raw` stage: one shop's report for one period into the object store."""

from __future__ import annotations

import hashlib
import time

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.demo.data import report_xlsx
from yd_platform.pipeline.layout import raw_object
from yd_platform.pipeline.partitions import DATE_DIM, SHOP_DIM


def materialize_raw(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
    period_key, shop = keys[DATE_DIM], keys[SHOP_DIM]
    started = time.monotonic()
    data = report_xlsx(ds, shop, period_key)
    key = raw_object(ds, period_key, shop, "xlsx")
    context.resources.object_store.client().put_bytes(key, data)
    return dg.MaterializeResult(
        metadata={
            "object": key,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "seconds": round(time.monotonic() - started, 3),
        }
    )
