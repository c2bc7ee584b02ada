"""Header mapping and type coercion of one shop file's cells into the dataset schema.

Values come as calamine gives them (float for every number, datetime for date cells,
'' for empty cells) or as csv text. A value that does not fit the declared type stops
the file with its row and column named; an empty cell is a null.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pyarrow as pa

from yd_platform.catalog import ColumnSpec, DatasetSpec
from yd_platform.merge.errors import BadShopFile
from yd_platform.merge.reader import RawSheet, cell_text
from yd_platform.merge.schema import ARROW_TYPES

NULL_TEXT = {"", "-", "--", "null", "none", "nan", "n/a", "#n/a"}
TRUE_TEXT = {"true", "1", "yes", "y", "是", "t"}
FALSE_TEXT = {"false", "0", "no", "n", "否", "f"}
EXCEL_EPOCH = datetime(1899, 12, 30)
CURRENCY = re.compile(r"^[¥￥$]|[元]$")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
                    "%Y年%m月%d日 %H:%M:%S", "%Y%m%d%H%M%S")


class NotOfType(ValueError):
    pass


def alias_map(ds: DatasetSpec) -> dict[str, str]:
    """Header text -> canonical column name (the canonical name itself is accepted too)."""
    out: dict[str, str] = {}
    for col in ds.columns:
        for alias in (col.name, *col.aliases):
            out[cell_text(alias)] = col.name
    return out


def map_headers(ds: DatasetSpec, raw: RawSheet) -> dict[str, int]:
    """Canonical column -> cell index in the file's rows. Unknown headers are ignored."""
    aliases = alias_map(ds)
    found: dict[str, int] = {}
    for index, text in enumerate(raw.header):
        name = aliases.get(text)
        if name is None:
            continue
        if name in found:
            first = raw.header[found[name]]
            if first == text:
                problem = f"duplicate header {text!r} (also in column {_letters(found[name])})"
            else:
                problem = f"duplicate headers {first!r} and {text!r} both map to column {name!r}"
            raise BadShopFile(raw.file, problem, sheet=raw.sheet, row=raw.header_row,
                              column=_col_ref(index, text))
        found[name] = index
    headers = [h for h in raw.header if h]
    if not found:
        raise BadShopFile(raw.file, f"no known header found; the first non-blank row has {headers[:12]}",
                          sheet=raw.sheet, row=raw.header_row)
    missing = [c for c in ds.columns if c.required and c.name not in found]
    if missing:
        col = missing[0]
        names = "/".join(col.aliases or [col.name])
        raise BadShopFile(
            raw.file,
            f"missing required column {col.name!r} (header {names}); "
            f"missing: {[c.name for c in missing]}; the file's headers are {headers[:20]}",
            sheet=raw.sheet, row=raw.header_row, column=repr(names))
    return found


def _col_ref(index: int, header: str) -> str:
    return f"{_letters(index)} ({header!r})"


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _is_null(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_TEXT)


def _number_text(value: str) -> str:
    return CURRENCY.sub("", value.strip().replace(",", "").replace("，", "")).strip()


def to_string(value):
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.time() != datetime.min.time() \
            else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def to_int(value):
    if _is_null(value):
        return None
    if isinstance(value, bool):
        raise NotOfType
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise NotOfType
    if isinstance(value, str):
        text = _number_text(value)
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(float(text))
    raise NotOfType


def to_float(value):
    if _is_null(value):
        return None
    if isinstance(value, bool):
        raise NotOfType
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = _number_text(value)
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            return float(text) * scale
        except ValueError:
            raise NotOfType from None
    raise NotOfType


def _excel_serial(value: float) -> datetime:
    if not 0 < value < 2958466:
        raise NotOfType
    return EXCEL_EPOCH + timedelta(days=value)


def to_datetime(value):
    if _is_null(value):
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0, tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _excel_serial(float(value)).replace(microsecond=0)
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromisoformat(text).replace(microsecond=0, tzinfo=None)
        except ValueError:
            pass
        for fmt in DATETIME_FORMATS + DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
    raise NotOfType


def to_date(value):
    moment = to_datetime(value)
    return None if moment is None else moment.date()


def to_bool(value):
    if _is_null(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
    raise NotOfType


CONVERTERS = {"string": to_string, "int": to_int, "float": to_float, "date": to_date,
              "datetime": to_datetime, "bool": to_bool}


def coerce_rows(ds: DatasetSpec, raw: RawSheet, positions: dict[str, int],
                numbers: list[int], rows: list[list]) -> dict[str, pa.Array]:
    """Columns of a chunk of rows as typed arrow arrays; absent optional columns are null."""
    out: dict[str, pa.Array] = {}
    for col in ds.columns:
        index = positions.get(col.name)
        if index is None:
            out[col.name] = pa.nulls(len(rows), ARROW_TYPES[col.type])
            continue
        cells = [r[index] if index < len(r) else None for r in rows]
        out[col.name] = _convert(col, cells, raw, index, numbers)
    return out


def _convert(col: ColumnSpec, cells: list, raw: RawSheet, index: int, numbers: list[int]) -> pa.Array:
    convert = CONVERTERS[col.type]
    values = []
    for i, cell in enumerate(cells):
        try:
            values.append(convert(cell))
        except NotOfType:
            raise BadShopFile(
                raw.file, f"value {cell!r} is not a valid {col.type} for column {col.name!r}",
                sheet=raw.sheet, row=numbers[i], column=_col_ref(index, raw.header[index])) from None
    return pa.array(values, type=ARROW_TYPES[col.type])
