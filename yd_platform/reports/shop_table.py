"""One shop's report file as a table in the dataset's merged schema.

The file's header is matched to the catalog, footer/total rows are dropped and counted,
every declared column is coerced column-wise, key and required columns must hold a
value in every row, and the columns no alias knows are kept in `extra_columns`.
Anything wrong raises BadShopFile naming file, sheet, row and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import Period
from yd_platform.datasets.schema import merged_schema
from yd_platform.reports.coerce import coerce_declared
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.extra import EXTRA_COLUMN, extra_json, extra_names
from yd_platform.reports.footer import footer_rows
from yd_platform.reports.headers import HeaderMatch, alias_map, column_letters, column_ref, match_header
from yd_platform.reports.reader import ShopSheet, open_report


@dataclass
class ShopTable:
    table: pa.Table
    footer_rows: int = 0
    unknown_headers: list[str] = field(default_factory=list)


def checked_header(ds: DatasetSpec, sheet: ShopSheet) -> HeaderMatch:
    """The header's match to the catalog, or BadShopFile when the merge cannot use it:
    two headers for one column, or a required or key column missing."""
    header = sheet.header
    match = match_header(ds, header)
    where = {"sheet": sheet.sheet, "row": header.row}
    if match.duplicate:
        index, text, first, first_text, name = match.duplicate
        if first_text == text:
            problem = f"duplicate header {text!r} (also in column {column_letters(first)})"
        else:
            problem = f"duplicate headers {first_text!r} and {text!r} both map to column {name!r}"
        raise BadShopFile(sheet.file, problem, column=column_ref(index, text), **where)
    if match.missing and not match.positions:
        raise BadShopFile(sheet.file, f"no known header found; the first non-blank row has {header.texts[:12]}",
                          **where)
    if match.missing:
        col = next(c for c in ds.columns if c.name == match.missing[0])
        names = "/".join(col.aliases or [col.name])
        kind = "required" if col.required else "key"
        raise BadShopFile(sheet.file, f"missing {kind} column {col.name!r} (header {names}); missing: "
                                      f"{match.missing}; the file's headers are {header.texts[:20]}",
                          column=repr(names), **where)
    return match


def require_values(ds: DatasetSpec, sheet: ShopSheet, match: HeaderMatch, columns: dict[str, pa.Array]) -> None:
    """Key and required columns hold a value in every row (a blank cell, a merged cell or
    a formula saved without its value all arrive as empty)."""
    for col in ds.columns:
        if not (col.key or col.required):
            continue
        array = columns[col.name]
        if not array.null_count:
            continue
        first = pc.index(pc.is_null(array), True).as_py()
        index = match.positions[col.name]
        kind = "key" if col.key else "required"
        raise BadShopFile(sheet.file, f"{kind} column {col.name!r} is empty (a blank cell, a merged cell or a "
                                      "formula saved without its value)",
                          sheet=sheet.sheet, row=int(sheet.rows[first]),
                          column=column_ref(index, sheet.header.cells.get(index, "")))


def read_shop_table(ds: DatasetSpec, path: Path, name: str, shop: str, period: Period) -> ShopTable:
    """One shop file as a table in the merged schema (raises BadShopFile)."""
    schema = merged_schema(ds)
    sheet = open_report(path, name, set(alias_map(ds)))
    if sheet.blank:
        return ShopTable(schema.empty_table())
    return sheet_table(ds, sheet, checked_header(ds, sheet), shop, period)


def sheet_table(ds: DatasetSpec, sheet: ShopSheet, match: HeaderMatch, shop: str, period: Period) -> ShopTable:
    """A sheet whose header matched (`checked_header`) as a table in the merged schema:
    footer rows dropped, declared columns coerced, unknown headers kept as JSON, and the
    shop's and period's columns added (raises BadShopFile)."""
    schema = merged_schema(ds)
    footer = footer_rows(sheet, ds.footer_markers)
    sheet.keep(~footer)
    columns = {col.name: coerce_declared(col, sheet, match.positions.get(col.name)) for col in ds.columns}
    require_values(ds, sheet, match, columns)
    names = extra_names(sheet, match.unknown)
    columns[EXTRA_COLUMN] = extra_json(sheet, names)
    n = len(sheet.rows)
    for column, value in (("platform", ds.platform), ("shop_id", shop), ("period", period.label),
                          ("period_start", period.start), ("period_end", period.end)):
        columns[column] = pa.repeat(pa.scalar(value, schema.field(column).type), n)
    table = pa.table([columns[f.name] for f in schema], schema=schema)
    return ShopTable(table, int(footer.sum()), list(names.values()))
