"""Shop report files as the back-ends serve them, stored where the collectors leave them,
so that the merge, checks and publish steps run on real files."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.layout import raw_object

SHEET = "报表"
REVIEW_HEADER = ["评价ID", "订单号", "商品ID", "商品名称", "评分", "评价内容", "评价时间"]


def xlsx(rows: list[list], sheet: str = SHEET) -> bytes:
    """An Excel workbook with `rows` on one sheet, exactly as given (title lines, blanks)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def records_xlsx(records: list[dict]) -> bytes:
    """An Excel workbook of `records`, their keys as the header (no rows: an empty sheet)."""
    buf = io.BytesIO()
    pd.DataFrame(records).to_excel(buf, index=False)
    return buf.getvalue()


def put_raw(store, ds: DatasetSpec, partition: str, shop: str, data: bytes | list[dict], ext: str = "xlsx") -> str:
    """Store one shop's report of a period in `store` (an object store client) where the
    collectors leave it; `data` is the file itself or records written as a workbook.
    Returns the object's key."""
    key = raw_object(ds, partition, shop, ext)
    store.put_bytes(key, data if isinstance(data, bytes) else records_xlsx(data))
    return key


def review_rows(prefix: str, n: int, score=5) -> list[list]:
    """pdd/badscore rows under the first alias of each column, header first."""
    body = [[f"{prefix}{i}", f"o{prefix}{i}", 1000 + i, "衬衫", score, "ok", "2025-10-01 10:00:00"]
            for i in range(n)]
    return [REVIEW_HEADER, *body]


def reviews(prefix: str, n: int, score: int = 5) -> list[dict]:
    """pdd/badscore records of one product; review and order ids `<prefix><i>` and `o<prefix><i>`."""
    return [dict(zip(REVIEW_HEADER, [f"{prefix}{i}", f"o{prefix}{i}", "g1", "衬衫", score, "ok",
                                     "2025-10-01 10:00:00"])) for i in range(n)]
