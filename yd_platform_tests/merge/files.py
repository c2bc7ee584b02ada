"""Build shop report files the way back-ends serve them, and run merged/ods in Dagster."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
from openpyxl import Workbook

from yd_platform.pipeline.assets import build_dataset_assets, stage_key
from yd_platform.pipeline.layout import raw_object
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.tables.engine import TableEngineResource

SHEET = "报表"
# The merge tests' own catalog: fixed datasets that do not move with the production aliases.
MERGE_CATALOG = Path(__file__).with_name("catalog.yaml")


def xlsx(rows: list[list], sheet: str = SHEET) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def put_raw(store, ds, partition: str, shop: str, data: bytes, ext: str = "xlsx") -> str:
    key = raw_object(ds, partition, shop, ext)
    store.put_bytes(key, data)
    return key


def review_rows(prefix: str, n: int, score=5) -> list[list]:
    """pdd/badscore rows under the first alias of each column."""
    header = ["评价ID", "订单号", "商品ID", "商品名称", "评分", "评价内容", "评价时间"]
    body = [[f"{prefix}{i}", f"o{prefix}{i}", 1000 + i, "衬衫", score, "ok", "2025-10-01 10:00:00"]
            for i in range(n)]
    return [header, *body]


def local_resources(root) -> dict[str, object]:
    return {"object_store": ObjectStoreResource(backend="local", root=str(root)),
            "table_engine": TableEngineResource(engine="duckdb")}


def publish(ds, partition_key: str, resources: dict, instance=None, stages=("merged", "ods")):
    """Materialize the dataset's merged (and ods) assets for one partition in-process."""
    keys = {stage_key(ds, stage) for stage in stages}
    assets = [a for a in build_dataset_assets(ds) if a.key in keys]
    return dg.materialize(assets, partition_key=partition_key, resources=resources,
                          instance=instance, raise_on_error=False)


def materialization(result, stage: str, ds=None):
    """The last materialization of `stage` (`merged`, `ods`) in the run, of `ds` if given."""
    def wanted(key) -> bool:
        if ds is not None:
            return key == stage_key(ds, stage)
        return key.path[-1] == stage or key.path[-1].endswith(f"_{stage}")

    events = [e for e in result.get_asset_materialization_events() if wanted(e.asset_key)]
    return events[-1].materialization if events else None
