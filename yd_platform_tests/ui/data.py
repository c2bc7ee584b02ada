"""Shop report rows for any catalog dataset, under the back-end's headers (stored with
`object_files.put_raw`)."""

from __future__ import annotations

from yd_platform.catalog import ColumnSpec, DatasetSpec


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

