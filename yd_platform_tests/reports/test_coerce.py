"""The column-wise (Arrow) coercion gives exactly what the per-cell converters give, for
the value forms merchant exports use; odd forms go to the per-cell path and still work."""

from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pytest

from yd_platform.datasets.schema import ARROW_TYPES
from yd_platform.reports.coerce import CONVERTERS, FAST, FastPathMiss, coerce_column
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.headers import HeaderRow
from yd_platform.reports.reader import ShopSheet

# (target type, Arrow type of the column as fastexcel/csv deliver it, cells the fast path decides)
FAST_CASES = [
    ("string", pa.string(), [" a ", "", "  ", None, "-", "评价"]),
    ("string", pa.float64(), [1.0, 12345678901.0, 78.5, -0.25, None, 2.0**62]),
    ("string", pa.bool_(), [True, False, None]),
    ("string", pa.timestamp("ms"), [datetime(2025, 10, 1), datetime(2025, 10, 1, 9, 30, 5), None]),
    ("int", pa.float64(), [1.0, -3.0, 0.0, None, 2.0**62]),
    ("int", pa.string(), ["12", " 1,200 ", "¥30", "45元", "-7", "+8", "5.00", "n/a", "-", "", None,
                          "9223372036854775807"]),
    ("float", pa.float64(), [1.5, None, -2.0]),
    ("float", pa.string(), ["1.5", "1,234.5", "12.5%", " 50 % ", "￥3,456.70", "1e3", "NaN", None, "--"]),
    ("datetime", pa.timestamp("ms"), [datetime(2025, 10, 1, 9, 30, 5, 123000), None]),
    ("datetime", pa.float64(), [45931.0, 45931.416666666664, 45931.99999999, None]),
    ("datetime", pa.string(), ["2025-10-01 10:00:00", "2025/10/01 08:00:00", "2025-10-01 10:00", "2025年10月01日",
                               "20251001", "2025.10.01", "2025-1-5", "20251001103000", "null", None]),
    ("date", pa.string(), ["2025-10-01", "2025-10-01 23:59:59", None]),
    ("date", pa.timestamp("ms"), [datetime(1960, 1, 1, 10, 0), datetime(2025, 10, 1, 23, 59, 59)]),
    ("bool", pa.bool_(), [True, False, None]),
    ("bool", pa.float64(), [1.0, 0.0, None]),
    ("bool", pa.string(), ["是", "否", "TRUE", " y ", "0", "", None]),
]


@pytest.mark.parametrize("kind, arrow_type, cells", FAST_CASES, ids=lambda v: str(v)[:20])
def test_fast_path_equals_per_cell(kind, arrow_type, cells):
    column = pa.array(cells, arrow_type)
    fast = FAST[kind](column)
    assert fast.type == ARROW_TYPES[kind]
    reference = pa.array([CONVERTERS[kind](v) for v in column.to_pylist()], ARROW_TYPES[kind])
    assert fast.to_pylist() == reference.to_pylist()


@pytest.mark.parametrize("kind, arrow_type, cells", [
    ("string", pa.float64(), [1e-07, 1e20]),            # Python's number text
    ("int", pa.string(), ["１２"]),                        # full-width digits
    ("float", pa.string(), ["1_000"]),
    ("datetime", pa.string(), ["2025-10-01T10:00:00+08:00", "2025-10-01 10:00:00.5"]),
])
def test_odd_forms_take_the_per_cell_path(kind, arrow_type, cells):
    column = pa.array(cells, arrow_type)
    with pytest.raises((FastPathMiss, pa.ArrowInvalid)):
        FAST[kind](column)
    sheet = ShopSheet("f.xlsx", "s", HeaderRow(1, {0: "h"}), {0: column}, np.arange(2, 2 + len(cells)))
    assert coerce_column(kind, "c", column, sheet, 0).to_pylist() == [CONVERTERS[kind](v) for v in cells]


def test_bad_value_names_its_cell_after_a_fast_path_miss():
    column = pa.array(["1", "2", "x3"], pa.string())
    sheet = ShopSheet("f.xlsx", "表", HeaderRow(4, {2: "数量"}), {2: column}, np.array([5, 7, 9]))
    with pytest.raises(BadShopFile, match=r"^f.xlsx, sheet '表', row 9, column C \('数量'\): value 'x3' is not a "
                                          r"valid int for column 'qty'$"):
        coerce_column("int", "qty", column, sheet, 2)


def test_dates_and_text_in_one_column():
    column = pa.array(["2025-10-01 10:00:00", "45931.5"], pa.string())
    sheet = ShopSheet("f.xlsx", "s", HeaderRow(1, {0: "d"}), {0: column}, np.array([2, 3]))
    with pytest.raises(BadShopFile, match=r"row 3, column A \('d'\): value '45931.5' is not a valid date"):
        coerce_column("date", "d", column, sheet, 0)
    assert coerce_column("date", "d", pa.array([45931.5]), sheet, 0).to_pylist() == [date(2025, 10, 1)]
