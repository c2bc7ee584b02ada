"""Deterministic sample report rows per dataset, shop and period.

The demo merchant portal serves these as its reports, with the back-end's Chinese
headers (each column's first alias), so every run on the embedded default moves
realistic data through the whole chain and the same inputs always give the same file.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta

from yd_platform.catalog import ColumnSpec, DatasetSpec


def _rng(*parts: str) -> random.Random:
    seed = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")
    return random.Random(seed)


def _value(col: ColumnSpec, rng: random.Random, i: int, shop: str, day: date):
    if col.key:
        return f"{shop}-{col.name}-{day:%Y%m%d}-{i:05d}"
    if col.type == "int":
        return rng.randint(1, 5) if col.name == "score" else rng.randint(0, 500)
    if col.type == "float":
        if "rate" in col.name:
            return round(rng.uniform(0.01, 0.6), 4)
        return round(rng.uniform(1, 5000), 2)
    if col.type == "date":
        return day.isoformat()
    if col.type == "datetime":
        moment = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(0, 86399))
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if col.type == "bool":
        return rng.random() < 0.5
    return f"{col.name}_{rng.randint(1, 40):02d}"


def header(ds: DatasetSpec) -> list[str]:
    """The back-end's header row: the first alias of each column (or its name)."""
    return [c.aliases[0] if c.aliases else c.name for c in ds.columns]


def report_rows(ds: DatasetSpec, shop: str, period_key: str, rows: int | None = None) -> list[list]:
    """Rows of one shop's report for one period (same inputs, same rows)."""
    rng = _rng(ds.platform, ds.code, shop, period_key)
    try:
        day = date.fromisoformat(period_key)
    except ValueError:
        day = date.fromisoformat(f"{period_key}-01")
    count = rows if rows is not None else rng.randint(20, 60)
    return [[_value(c, rng, i, shop, day) for c in ds.columns] for i in range(count)]


def report_xlsx(ds: DatasetSpec, shop: str, period_key: str, rows: int | None = None) -> bytes:
    """The report as an .xlsx file, as the back-end would serve it."""
    import io

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报表")
    ws.append(header(ds))
    for row in report_rows(ds, shop, period_key, rows):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
