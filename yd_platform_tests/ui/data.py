"""Shop report files for any catalog dataset, as a collector leaves them in the object store."""

from __future__ import annotations

import io

import pandas as pd

from yd_platform.catalog import ColumnSpec, DatasetSpec
from yd_platform.pipeline.layout import raw_object


def _value(col: ColumnSpec, shop: str, day: str, i: int) -> object:
    return {"int": i + 1, "float": i + 0.5, "date": day, "datetime": f"{day} 10:{i % 60:02d}:00",
            "bool": "是"}.get(col.type, f"{shop}-{col.name}-{i}")


def report_rows(ds: DatasetSpec, shop: str, day: str, n: int, duplicate_key: bool = False) -> list[dict]:
    """`n` rows under the back-end's headers; `duplicate_key` repeats the first row's key
    with other values (what `keys_unique` must catch)."""
    rows = [{(c.aliases[0] if c.aliases else c.name): _value(c, shop, day, i) for c in ds.columns}
            for i in range(n)]
    if duplicate_key:
        twin = dict(rows[0])
        for col in ds.columns:
            if not col.key and col.type in ("int", "float"):
                twin[col.aliases[0] if col.aliases else col.name] = 99
        rows.append(twin)
    return rows


def put_report(store, ds: DatasetSpec, day: str, shop: str, rows: list[dict]) -> None:
    buf = io.BytesIO()
    pd.DataFrame(rows).to_excel(buf, index=False)
    store.put_bytes(raw_object(ds, day, shop, "xlsx"), buf.getvalue())
