"""Type coercion of one shop file's columns into the dataset schema, column by column.

Each column is converted with Arrow compute in one pass (the fast path). Whenever the
fast path meets a value it does not decide on its own (a bad value, an unusual date
form, a number out of range), the column goes through the per-cell converters below,
which define the semantics: they either convert the odd value or stop the file naming
file, sheet, row and column. Both paths give the same result for every value the fast
path accepts.

An empty cell (or a null text like '-', 'n/a' in a typed column) is a null.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from yd_platform.catalog import ColumnSpec
from yd_platform.datasets.schema import ARROW_TYPES
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.headers import column_ref
from yd_platform.reports.reader import ShopSheet

NULL_TEXT = {"", "-", "--", "null", "none", "nan", "n/a", "#n/a"}
TRUE_TEXT = {"true", "1", "yes", "y", "是", "t"}
FALSE_TEXT = {"false", "0", "no", "n", "否", "f"}
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_EPOCH_MS = -2_209_161_600_000  # 1899-12-30 in ms since 1970-01-01
EXCEL_MAX_SERIAL = 2958466  # 10000-01-01
INT64_LIMIT = 2**63
CURRENCY = r"^[¥￥$]|[元]$"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
                    "%Y年%m月%d日 %H:%M:%S", "%Y%m%d%H%M%S")


class NotOfType(ValueError):
    """A cell's value does not fit the column type; `reason` adds why when it is not obvious."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


class FastPathMiss(Exception):
    """The column holds a value the Arrow path does not decide; the per-cell path will."""


# ---- per-cell converters: the reference semantics --------------------------------------

def _is_null(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in NULL_TEXT)


def _number_text(value: str) -> str:
    return re.sub(CURRENCY, "", value.strip().replace(",", "").replace("，", "")).strip()


def _in_int64(number: int) -> int:
    if not -INT64_LIMIT <= number < INT64_LIMIT:
        raise NotOfType("outside the 64-bit integer range")
    return number


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
    return str(value).strip() or None


def to_int(value):
    if _is_null(value):
        return None
    if isinstance(value, bool):
        raise NotOfType
    if isinstance(value, int):
        return _in_int64(value)
    if isinstance(value, float):
        if value.is_integer():
            return _in_int64(int(value))
        raise NotOfType
    if isinstance(value, str):
        text = _number_text(value)
        if re.fullmatch(r"[+-]?\d+", text):
            return _in_int64(int(text))
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return _in_int64(int(text.split(".")[0]))
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
    if not 0 < value < EXCEL_MAX_SERIAL:
        raise NotOfType("outside the Excel date range")
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


# ---- column-wise fast paths --------------------------------------------------------------

def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _null(kind: pa.DataType) -> pa.Scalar:
    return pa.scalar(None, kind)


def _text_or_null(array: pa.Array) -> pa.Array:
    """Trimmed text with the null spellings ('', '-', 'n/a' ...) as nulls."""
    text = pc.utf8_trim_whitespace(array)
    nullish = pc.is_in(pc.utf8_lower(text), value_set=pa.array(sorted(NULL_TEXT)))
    return pc.if_else(nullish, _null(pa.string()), text)


def _number_text_fast(text: pa.Array) -> pa.Array:
    text = pc.replace_substring_regex(text, "[,，]", "")
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(text, CURRENCY, ""))


def _require(ok: pa.Array) -> None:
    """Every non-null entry of `ok` is true, or the per-cell path takes over."""
    if pc.any(pc.invert(ok)).as_py():
        raise FastPathMiss


def _int_range(array: pa.Array) -> pa.Array:
    return pc.and_(pc.greater_equal(array, -float(INT64_LIMIT)), pc.less(array, float(INT64_LIMIT)))


def fast_string(array: pa.Array) -> pa.Array:
    kind = array.type
    if _is_text(kind):
        text = pc.utf8_trim_whitespace(array)
        return pc.if_else(pc.equal(text, ""), _null(pa.string()), text)
    if pa.types.is_floating(kind):
        integral = pc.equal(pc.floor(array), array)
        _require(pc.or_(pc.invert(integral), _int_range(array)))
        plain = pc.cast(array, pa.string())
        _require(pc.or_(integral, pc.invert(pc.match_substring(plain, "e"))))
        whole = pc.cast(pc.cast(pc.if_else(integral, array, 0.0), pa.int64()), pa.string())
        return pc.if_else(integral, whole, plain)
    if pa.types.is_integer(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "True", "False")
    if pa.types.is_timestamp(kind):
        seconds = pc.cast(array, pa.timestamp("s"), safe=False)
        text = pc.strftime(seconds, "%Y-%m-%d %H:%M:%S")
        midnight = pc.and_(pc.ends_with(text, " 00:00:00"), pc.equal(pc.millisecond(array), 0))
        return pc.if_else(midnight, pc.utf8_slice_codeunits(text, 0, 10), text)
    if pa.types.is_date(kind):
        return pc.strftime(array, "%Y-%m-%d")
    raise FastPathMiss


def fast_int(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_integer(kind):
        return pc.cast(array, pa.int64())
    if pa.types.is_floating(kind):
        _require(pc.and_(pc.equal(pc.floor(array), array), _int_range(array)))
        return pc.cast(array, pa.int64())
    if _is_text(kind):
        text = _number_text_fast(_text_or_null(array))
        _require(pc.match_substring_regex(text, r"^[+-]?\d+(\.0*)?$"))
        return pc.cast(pc.replace_substring_regex(text, r"^\+|\.0*$", ""), pa.int64())
    raise FastPathMiss


def fast_float(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return pc.cast(array, pa.float64())
    if _is_text(kind):
        text = _number_text_fast(_text_or_null(array))
        percent = pc.ends_with(text, "%")
        number = pc.if_else(percent, pc.utf8_rtrim_whitespace(pc.utf8_rtrim(text, characters="%")), text)
        return pc.multiply(pc.cast(number, pa.float64()), pc.if_else(percent, 0.01, 1.0))
    raise FastPathMiss


def fast_datetime(array: pa.Array) -> pa.Array:
    kind = array.type
    target = ARROW_TYPES["datetime"]
    if pa.types.is_timestamp(kind):
        return pc.cast(pc.cast(array, pa.timestamp("s", tz=kind.tz), safe=False), target)
    if pa.types.is_date(kind):
        return pc.cast(array, target)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        serial = pc.cast(array, pa.float64())
        _require(pc.and_(pc.greater(serial, 0.0), pc.less(serial, float(EXCEL_MAX_SERIAL))))
        micros = pc.cast(pc.round(pc.multiply(serial, 86_400_000_000.0)), pa.int64())
        millis = pc.add(pc.multiply(pc.divide(micros, 1_000_000), 1000), EXCEL_EPOCH_MS)
        return pc.cast(millis, target)
    if _is_text(kind):
        text = _text_or_null(array)
        parsed = pa.nulls(len(text), pa.timestamp("s"))
        for fmt in DATETIME_FORMATS + DATE_FORMATS:
            parsed = pc.coalesce(parsed, pc.strptime(text, format=fmt, unit="s", error_is_null=True))
            if parsed.null_count == text.null_count:
                break
        _require(pc.or_(pc.is_null(text), pc.is_valid(parsed)))
        return pc.cast(parsed, target)
    raise FastPathMiss


def fast_date(array: pa.Array) -> pa.Array:
    return pc.cast(fast_datetime(array), ARROW_TYPES["date"], safe=False)


def fast_bool(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_boolean(kind):
        return array
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        _require(pc.or_(pc.is_null(array), pc.is_in(array, value_set=pa.array([0, 1], kind))))
        return pc.not_equal(array, pa.scalar(0, kind))
    if _is_text(kind):
        text = pc.utf8_lower(_text_or_null(array))
        yes = pc.is_in(text, value_set=pa.array(sorted(TRUE_TEXT)))
        no = pc.is_in(text, value_set=pa.array(sorted(FALSE_TEXT)))
        _require(pc.or_(pc.is_null(text), pc.or_(yes, no)))
        return pc.if_else(pc.is_null(text), _null(pa.bool_()), yes)
    raise FastPathMiss


FAST = {"string": fast_string, "int": fast_int, "float": fast_float, "date": fast_date,
        "datetime": fast_datetime, "bool": fast_bool}


def coerce_column(kind: str, name: str, array: pa.Array, sheet: ShopSheet, index: int) -> pa.Array:
    """`array` (cells of column `index`) as the Arrow type of `kind`; raises BadShopFile."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), ARROW_TYPES[kind])
    try:
        return FAST[kind](array)
    except (FastPathMiss, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _per_cell(kind, name, array, sheet, index)


def _per_cell(kind: str, name: str, array: pa.Array, sheet: ShopSheet, index: int) -> pa.Array:
    convert = CONVERTERS[kind]
    header = sheet.header.cells.get(index, "") if sheet.header else ""
    values = []
    for i, cell in enumerate(array.to_pylist()):
        try:
            values.append(convert(cell))
        except NotOfType as exc:
            why = f" ({exc.reason})" if exc.reason else ""
            raise BadShopFile(sheet.file, f"value {cell!r} is not a valid {kind} for column {name!r}{why}",
                              sheet=sheet.sheet, row=int(sheet.rows[i]), column=column_ref(index, header)) from None
    try:
        return pa.array(values, type=ARROW_TYPES[kind])
    except (pa.ArrowException, OverflowError, ValueError) as exc:
        raise BadShopFile(sheet.file, f"column {name!r} cannot be stored as {kind}: {exc}",
                          sheet=sheet.sheet, column=column_ref(index, header)) from None


def as_text(array: pa.Array) -> pa.Array:
    """Any column as text, the way a string column of the schema would hold it."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    try:
        return fast_string(array)
    except (FastPathMiss, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return pa.array([to_string(v) for v in array.to_pylist()], pa.string())


def coerce_declared(col: ColumnSpec, sheet: ShopSheet, index: int | None) -> pa.Array:
    """The declared column from the file (nulls when the file lacks it)."""
    n = len(sheet.rows)
    if index is None or index not in sheet.columns:
        return pa.nulls(n, ARROW_TYPES[col.type])
    return coerce_column(col.type, col.name, sheet.columns[index], sheet, index)
