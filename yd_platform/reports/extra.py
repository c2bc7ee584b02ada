"""Columns of a report that the catalog's aliases do not know.

They are kept, not dropped: every row gets a JSON object {header: text} of those cells
in the `extra_columns` column (the table schema stays the same for every shop and
period, so the ODS table and its queries never break on a new back-end column), and the
merge's metadata warns which headers were not mapped.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from yd_platform.reports.coerce import as_text
from yd_platform.reports.headers import column_letters
from yd_platform.reports.reader import ShopSheet

EXTRA_COLUMN = "extra_columns"
JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


def extra_names(sheet: ShopSheet, unknown: dict[int, str]) -> dict[int, str]:
    """Column index -> name for the unknown columns that hold data (blank headers get
    `column_<letter>`, a repeated header gets its letter appended)."""
    names: dict[int, str] = {}
    for index, text in sorted(unknown.items()):
        array = sheet.columns.get(index)
        if array is None or array.null_count == len(array) and not text:
            continue
        name = text or f"column_{column_letters(index)}"
        if name in names.values():
            name = f"{name}_{column_letters(index)}"
        names[index] = name
    return names


def _json_string(text: pa.Array) -> pa.Array:
    for raw, escaped in JSON_ESCAPES:
        text = pc.replace_substring(text, raw, escaped)
    return pc.replace_substring_regex(text, r"[\x00-\x1f]", "")


def extra_json(sheet: ShopSheet, names: dict[int, str]) -> pa.Array:
    """One JSON object per row with the unknown columns' cells as text (null without any)."""
    n = len(sheet.rows)
    if not names:
        return pa.nulls(n, pa.string())
    pieces = []
    for index, name in names.items():
        key = json.dumps(name, ensure_ascii=False)
        value = _json_string(as_text(sheet.columns[index]))
        pieces.append(pc.fill_null(pc.binary_join_element_wise(f'{key}:"', value, '"', ""), f"{key}:null"))
    return pc.binary_join_element_wise("{", pc.binary_join_element_wise(*pieces, ","), "}", "")
