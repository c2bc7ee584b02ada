"""The old shape of an ODS table: the columns the old merge published, as a view over
the typed table's parquet files, for the queries, Dremio views and reports written
against them.

The old merge concatenated one Excel file per shop with pandas and wrote `shop` (the
file's name, i.e. the shop's name) first, then the report's own headers unchanged; its
upload step turned every value into text and every empty cell into ''. The typed table
renames the columns (canonical names), types them and carries `shop_id` instead. The
old-shape view gives the old columns back, from the same files (no second copy):

- `shop`: the shop's `name` in platforms.yaml (the shop whose id is `shop_id`), or the
  id for a shop the catalog does not list. pdd quality's files were named
  `<shop>产品质量数据.xlsx`, so its `shop` carries that suffix (`FILE_NAME_SUFFIXES`).
- one column per catalog column, named by its first alias (the report's header), in
  catalog order, as text like the old parquet held it: '' for an empty cell, integers as
  digits, floats as Python prints them (`0.3`, `100.0`), dates `YYYY-MM-DD`, date-times
  `YYYY-MM-DD HH:MM:SS`, booleans `True` / `False`. Text is what the old queries were
  written against (`"评分" = '1'`, `"追评内容" <> ''`, `like`, `||`): typed values would
  make some of them fail or return other rows.
- `dt`: the partition value, as before.

Headers the catalog does not know are no columns of the view; the typed table keeps
them in `extra_columns`. The SQL comes in the two dialects that serve the tables:
DuckDB (`yd-platform sql`) and Dremio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.datasets.partitions import ODS_PARTITION_COLUMN
from yd_platform.resources.dremio import TYPED_SOURCE

Dialect = Literal["duckdb", "dremio"]

SHOP_COLUMN = "shop"
# What the old crawlers appended to the shop's name in the file name (the old merge's
# `shop` was the file name without extension).
FILE_NAME_SUFFIXES: dict[tuple[str, str], str] = {("pdd", "quality"): "产品质量数据"}


class OldShapeError(ValueError):
    """The catalog's columns give no valid old-shape view; the message names the dataset."""


@dataclass(frozen=True)
class OldColumn:
    header: str   # the report's header: the column's first alias
    column: str   # the typed table's column
    type: str     # the catalog type of the typed column


def typed_table_name(ds: DatasetSpec) -> str:
    """The typed table's name: the old name with its first part (the old source `minio`)
    replaced by `yd`, e.g. `yd.warehouse.ods.pdd.pdd_badscore`."""
    rest = ds.table.split(".", 1)[1] if "." in ds.table else ds.table
    return f"{TYPED_SOURCE}.{rest}"


def old_table_name(ds: DatasetSpec) -> str:
    """The old-shape view's name: the table name of the catalog, the one old queries use."""
    return ds.table


def old_table_aliases(ds: DatasetSpec) -> list[str]:
    """Other spellings old queries used: the name below source and bucket
    (`ods.pdd.pdd_badscore`, as in Dremio with the context `minio.warehouse`)."""
    parts = ds.table.split(".")
    return [".".join(parts[2:])] if len(parts) >= 4 else []


def old_columns(ds: DatasetSpec) -> list[OldColumn]:
    """The report's columns as the old merge named them, in catalog order."""
    columns = [OldColumn(c.aliases[0] if c.aliases else c.name, c.name, c.type) for c in ds.columns]
    names = [SHOP_COLUMN, *(c.header for c in columns), ODS_PARTITION_COLUMN]
    folded = [n.casefold() for n in names]
    twice = sorted({n for n in names if folded.count(n.casefold()) > 1})
    if twice:
        raise OldShapeError(
            f"platforms.yaml: platform {ds.platform!r}, dataset {ds.code!r}: the old-shape view of {ds.table} "
            f"would have the column(s) {twice} twice (a column's first alias names it, next to `shop` and `dt`); "
            "give those columns distinct first aliases")
    return columns


def catalog_shop_names(catalog: Catalog, platform: str) -> dict[str, str]:
    """{shop id: shop name} of a platform's shops in the catalog, inactive ones too
    (their partitions stay in the table)."""
    spec = catalog.platforms.get(platform)
    return {s.id: s.name for s in spec.shops} if spec else {}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def shop_expression(ds: DatasetSpec, shop_names: Mapping[str, str]) -> str:
    shop_id = quote_ident("shop_id")
    expr = shop_id
    if shop_names:
        cases = " ".join(f"WHEN {quote_text(i)} THEN {quote_text(n)}" for i, n in sorted(shop_names.items()))
        expr = f"CASE {shop_id} {cases} ELSE {shop_id} END"
    suffix = FILE_NAME_SUFFIXES.get((ds.platform, ds.code))
    return f"{expr} || {quote_text(suffix)}" if suffix else expr


def text_expression(column: OldColumn, dialect: Dialect) -> str:
    """The column's value as the old parquet held it (text, '' when empty)."""
    ref = quote_ident(column.column)
    if column.type == "bool":
        return f"CASE WHEN {ref} THEN 'True' WHEN NOT {ref} THEN 'False' ELSE '' END"
    if column.type == "string":
        text = ref
    elif column.type == "datetime":
        text = (f"strftime({ref}, '%Y-%m-%d %H:%M:%S')" if dialect == "duckdb"
                else f"TO_CHAR({ref}, 'YYYY-MM-DD HH24:MI:SS')")
    else:  # int, float, date: both engines print them as Python did
        text = f"CAST({ref} AS VARCHAR)"
    return f"COALESCE({text}, '')"


def old_shape_select(ds: DatasetSpec, source: str, shop_names: Mapping[str, str], dialect: Dialect) -> str:
    """`SELECT shop, <headers>, dt FROM <source>`; `source` is the typed table's name,
    already quoted for the engine."""
    parts = [f"{shop_expression(ds, shop_names)} AS {quote_ident(SHOP_COLUMN)}"]
    parts += [f"{text_expression(c, dialect)} AS {quote_ident(c.header)}" for c in old_columns(ds)]
    parts.append(quote_ident(ODS_PARTITION_COLUMN))
    return f"SELECT {', '.join(parts)} FROM {source}"
