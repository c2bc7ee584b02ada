"""Old-shape data read into the platform's typed table of a dataset.

The old merge concatenated one Excel file per shop with pandas and wrote `shop` (the
file's name without extension: the shop's name, with `产品质量数据` after it for pdd
quality) first, then the report's own headers unchanged; its upload step turned every
value into text and every empty cell into '' before writing one parquet file under
`ods/<platform>/<table>/dt=<period>/`. The merged workbook (`<period>.xlsx`) has the
same columns with Excel's own types.

Each shop's rows go through the same steps as a shop file in the platform's merge
(`reports`): headers matched to the catalog's aliases, footer rows dropped and counted,
typed coercion, key and required columns filled, unknown headers kept in
`extra_columns`, exact duplicate rows dropped. A value that does not fit stops the
partition with file, row and column named (`BadShopFile`), so a bad partition is
listed, never half adopted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import Period
from yd_platform.datasets.schema import merged_schema
from yd_platform.merge.merger import drop_exact_duplicates
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.headers import HeaderRow, alias_map, cell_text
from yd_platform.reports.reader import ShopSheet, open_report
from yd_platform.reports.shop_table import checked_header, sheet_table
from yd_platform.tables.old_shape import FILE_NAME_SUFFIXES, SHOP_COLUMN

# the old merge's header row is the first row; data starts on the second
FIRST_DATA_ROW = 2
# what the old tm merge wrote in every cell of its one-row file on a day without data
NO_DATA = "无数据"


@dataclass
class TypedPartition:
    """A partition's old rows in the platform's merged schema."""

    table: pa.Table
    rows_per_shop: dict[str, int] = field(default_factory=dict)
    footer_rows: int = 0
    duplicates_dropped: int = 0
    unknown_headers: list[str] = field(default_factory=list)


@dataclass
class OldRows:
    """One old file's rows: its cleaned header texts and a column per header."""

    file: str
    sheet: str
    headers: list[str]
    columns: list[pa.Array]
    first_row: int = FIRST_DATA_ROW
    # each row's number when they are not consecutive from `first_row`
    row_numbers: np.ndarray | None = None


def is_platform_layout(ds: DatasetSpec, schema: pa.Schema) -> bool:
    """The file is already the platform's typed table (written by the ods stage)."""
    return schema.names == merged_schema(ds).names


def _empty_as_null(array: pa.Array) -> pa.Array:
    """'' and blank text are empty cells (the old upload wrote '' for them)."""
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        return array
    blank = pc.equal(pc.utf8_trim_whitespace(array), "")
    return pc.if_else(blank, pa.scalar(None, array.type), array)


def read_old_parquet(path: Path, name: str) -> OldRows:
    """An old ODS object. Raises BadShopFile when it is no readable parquet file."""
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any arrow error means the object is unreadable
        raise BadShopFile(name, f"unreadable parquet: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    columns = [pa.concat_arrays(c.chunks) if c.num_chunks else pa.array([], c.type) for c in table.columns]
    return OldRows(name, "parquet", [cell_text(n) for n in table.column_names], [_empty_as_null(c) for c in columns])


def read_old_workbook(ds: DatasetSpec, path: Path, name: str) -> OldRows:
    """An old merged workbook (first sheet, `shop` and the report's headers)."""
    sheet = open_report(path, name, set(alias_map(ds)) | {SHOP_COLUMN})
    if sheet.blank:
        return OldRows(name, sheet.sheet, [], [])
    width = max([*sheet.header.cells, *sheet.columns], default=-1) + 1
    n = len(sheet.rows)
    columns = [sheet.columns.get(i, pa.nulls(n)) for i in range(width)]
    headers = [sheet.header.cells.get(i, "") for i in range(width)]
    # blank rows inside the sheet were skipped: keep each row's own number
    return OldRows(name, sheet.sheet, headers, columns, sheet.header.row + 1, sheet.rows)


def holds_no_data(old: OldRows) -> bool:
    """A file of a day without data: no rows (or no cell at all), or the old one-row
    placeholder with `无数据` in every cell."""
    if not old.columns or len(old.columns[0]) == 0:
        return True
    return all(pc.all(pc.equal(pc.fill_null(pc.cast(c, pa.string()), ""), NO_DATA)).as_py() for c in old.columns)


def shop_name_of(ds: DatasetSpec, value: str) -> str:
    """The shop's name from the old `shop` value (the file name it was merged from)."""
    suffix = FILE_NAME_SUFFIXES.get((ds.platform, ds.code), "")
    return value[: -len(suffix)].strip() if suffix and value.endswith(suffix) else value.strip()


def shop_sheets(ds: DatasetSpec, old: OldRows) -> dict[str, ShopSheet]:
    """{shop name: that shop's rows as a sheet}; BadShopFile without a `shop` column or
    with rows that have none."""
    if SHOP_COLUMN not in old.headers:
        raise BadShopFile(old.file, f"wrong columns: no `{SHOP_COLUMN}` column, so the rows belong to no shop "
                                    f"(columns: {old.headers[:12]})")
    shop_index = old.headers.index(SHOP_COLUMN)
    n = len(old.columns[shop_index])
    numbers = old.row_numbers if old.row_numbers is not None else old.first_row + np.arange(n, dtype=np.int64)
    values = pc.cast(old.columns[shop_index], pa.string()).to_pylist()
    groups: dict[str, list[int]] = defaultdict(list)
    for i, value in enumerate(values):
        if value is None or not str(value).strip():
            raise BadShopFile(old.file, "a row without a shop name", sheet=old.sheet, row=int(numbers[i]),
                              column=repr(SHOP_COLUMN))
        groups[shop_name_of(ds, str(value))].append(i)
    header = HeaderRow(old.first_row - 1, {i: h for i, h in enumerate(old.headers) if i != shop_index})
    sheets = {}
    for shop, index in groups.items():
        take = pa.array(index, pa.int64())
        columns = {i: pc.take(c, take) for i, c in enumerate(old.columns) if i != shop_index}
        sheets[shop] = ShopSheet(old.file, old.sheet, header, columns, numbers[index])
    return sheets


def typed_shop_table(ds: DatasetSpec, sheet: ShopSheet, shop_id: str, period: Period) -> tuple[pa.Table, int, list[str]]:
    """(one shop's rows in the merged schema, footer rows dropped, unknown headers)."""
    try:
        match = checked_header(ds, sheet)
    except BadShopFile as exc:
        raise BadShopFile(exc.file, f"wrong columns: {exc.problem}", sheet=exc.sheet, column=exc.column) from None
    if not match.positions:
        raise BadShopFile(sheet.file, f"wrong columns: none of the headers is a column of {ds.platform}/{ds.code} "
                                      f"(headers: {sheet.header.texts[:12]})", sheet=sheet.sheet)
    shop_table = sheet_table(ds, sheet, match, shop_id, period)
    return shop_table.table, shop_table.footer_rows, shop_table.unknown_headers


def typed_partition(ds: DatasetSpec, period: Period, files: list[OldRows], shop_id_of) -> TypedPartition:
    """Every file's rows, shop by shop, in the merged schema; `shop_id_of(name)` gives the
    shop id of a shop name. Raises BadShopFile naming file, row and column."""
    per_shop: dict[str, list[pa.Table]] = defaultdict(list)
    out = TypedPartition(merged_schema(ds).empty_table())
    unknown: set[str] = set()
    for old in files:
        if holds_no_data(old):
            continue
        for shop, sheet in shop_sheets(ds, old).items():
            table, footer, extra = typed_shop_table(ds, sheet, shop_id_of(shop), period)
            per_shop[shop_id_of(shop)].append(table)
            out.footer_rows += footer
            unknown.update(extra)
    keys = [c.name for c in ds.columns if c.key]
    tables = []
    for shop, parts in sorted(per_shop.items()):
        table, dropped = drop_exact_duplicates(pa.concat_tables(parts), keys)
        out.rows_per_shop[shop] = table.num_rows
        out.duplicates_dropped += dropped
        tables.append(table)
    if tables:
        out.table = pa.concat_tables(tables)
    out.unknown_headers = sorted(unknown)
    return out
