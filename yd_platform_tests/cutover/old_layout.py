"""The old system's objects and files, written the way it wrote them.

The old merge read every shop's xlsx with pandas, added `shop` (the file name without
extension) as the first column and wrote one workbook; the upload step read that back,
filled empty cells with '', cast every column to text and stored one parquet file under
`ods/<platform>/<table>/dt=<period>/` (beside a `.path_marker` object of the upload
service). Shop files were `<archive>/<period>/<shop name>.xlsx`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

# pdd badscore: the review list's English keys as headers, as the old crawler wrote them
BADSCORE_HEADERS = ["descScore", "comment", "orderSn", "name", "goodsId", "goodsInfoUrl", "Picture_1"]


def badscore_rows(shop: str, day: str, n: int) -> list[dict]:
    return [{"shop": shop, "descScore": 1 + i % 3, "comment": f"差评{i} {day}", "orderSn": f"{shop}-{day}-{i}",
             "name": f"商品{i}", "goodsId": 1000 + i, "goodsInfoUrl": f"https://x/{i}",
             "Picture_1": f"https://img/{i}.jpg" if i % 2 else None} for i in range(n)]


def kpi_rows(shop: str, agents: int) -> list[dict]:
    return [{"shop": shop, "客服账号": f"{shop}:客服{a}", "咨询人数": 10 * a + 1, "平均响应时长(秒)": 12.5 + a,
             "询单转化率": 0.25, "客服销售额": 1000.0 * a, "未知指标": f"x{a}"} for a in range(agents)]


def old_parquet(rows: list[dict]) -> bytes:
    """The old upload: NaN -> '', every column as text, pandas' parquet."""
    frame = pd.DataFrame(rows)
    cols = [c for c in frame.columns if c == "shop"] + [c for c in frame.columns if c != "shop"]
    frame = frame[cols].fillna("")
    for col in frame.columns:
        frame[col] = frame[col].astype(str)
    out = io.BytesIO()
    frame.to_parquet(out, index=False, engine="pyarrow")
    return out.getvalue()


def old_workbook(rows: list[dict], path: Path) -> Path:
    """The old merge's workbook: `shop` first, then the report's headers, native types."""
    frame = pd.DataFrame(rows)
    frame = frame[["shop", *[c for c in frame.columns if c != "shop"]]]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def shop_file(rows: list[dict], path: Path) -> Path:
    """One shop's download as the old crawler saved it (no `shop` column)."""
    frame = pd.DataFrame(rows).drop(columns=["shop"])
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def put_old(store, key: str, data: bytes) -> None:
    store.put_bytes(key, data)
    folder = key.rsplit("/", 1)[0]
    store.put_bytes(f"{folder}/.path_marker", b"Path created at 2025-09-02 08:31:00")
