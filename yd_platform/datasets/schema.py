"""The merged/ODS table schema of a dataset, derived from its declared columns.

One function decides the arrow schema so the merge writer, the ODS publisher and the
query engine always agree: every partition of a dataset has the same columns and types.
"""

from __future__ import annotations

import pyarrow as pa

from yd_platform.catalog import DatasetSpec

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms"),
    "bool": pa.bool_(),
}

# Columns the merge adds around the report's own columns.
LEADING_COLUMNS = [("platform", pa.string()), ("shop_id", pa.string())]
# `extra_columns`: the report's columns the catalog does not know, as a JSON object per row.
TRAILING_COLUMNS = [("extra_columns", pa.string()), ("period", pa.string()), ("period_start", pa.date32()),
                    ("period_end", pa.date32())]
ADDED_COLUMN_HEADERS = {
    "platform": "平台",
    "shop_id": "店铺ID",
    "extra_columns": "其他列",
    "period": "数据周期",
    "period_start": "开始日期",
    "period_end": "结束日期",
}


def merged_schema(ds: DatasetSpec) -> pa.Schema:
    """platform, shop_id, the declared columns in config order, extra_columns, the period columns."""
    if not ds.columns:
        raise ValueError(f"{ds.platform}/{ds.code}: no 'columns' declared in platforms.yaml; "
                         "the merge needs the canonical schema and header aliases")
    fields = [pa.field(n, t) for n, t in LEADING_COLUMNS]
    fields += [pa.field(c.name, ARROW_TYPES[c.type]) for c in ds.columns]
    fields += [pa.field(n, t) for n, t in TRAILING_COLUMNS]
    return pa.schema(fields)


def excel_headers(ds: DatasetSpec) -> list[str]:
    """Header row of the merged Excel: the back-end's own (first alias) Chinese headers."""
    names = merged_schema(ds).names
    by_name = {c.name: (c.aliases[0] if c.aliases else c.name) for c in ds.columns}
    return [by_name.get(n) or ADDED_COLUMN_HEADERS[n] for n in names]
