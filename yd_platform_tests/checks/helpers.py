"""Write raw report files the way collectors leave them, so the real publish job can run."""

from __future__ import annotations

import io

import pandas as pd

from yd_platform.pipeline.layout import raw_object
from yd_platform.resources.core import object_store_from_env


def put_raw(ds, partition: str, shop: str, rows: list[dict]) -> None:
    buf = io.BytesIO()
    pd.DataFrame(rows).to_excel(buf, index=False)
    object_store_from_env().client().put_bytes(raw_object(ds, partition, shop, "xlsx"), buf.getvalue())


def reviews(prefix: str, n: int, score: int = 5) -> list[dict]:
    return [{"评价ID": f"{prefix}{i}", "订单号": f"o{prefix}{i}", "商品ID": "g1", "商品名称": "衬衫",
             "评分": score, "评价内容": "ok", "评价时间": "2025-10-01 10:00:00"} for i in range(n)]
