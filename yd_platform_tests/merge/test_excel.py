"""The merged Excel continues on further sheets when one sheet cannot hold the rows."""

from python_calamine import CalamineWorkbook

from yd_platform.merge.excel import sheet_title
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.object_files import put_raw, review_rows, xlsx


def test_excel_splits_into_sheets(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "a", xlsx(review_rows("a", 5)))
    put_raw(store, ds, "2025-10-01", "b", xlsx(review_rows("b", 4)))

    outcome = merge_partition(store, ds, "2025-10-01", excel_max_rows=4)  # header + 3 rows a sheet

    assert outcome.excel_sheets == ["差评数据", "差评数据 (2)", "差评数据 (3)"]
    book = CalamineWorkbook.from_path(str(tmp_path / outcome.excel_key))
    sheets = [book.get_sheet_by_name(n).to_python() for n in book.sheet_names]
    assert [len(s) for s in sheets] == [4, 4, 4]
    assert all(s[0] == sheets[0][0] for s in sheets)
    ids = [row[2] for s in sheets for row in s[1:]]
    assert ids == [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(4)]


def test_sheet_title_is_valid():
    assert sheet_title("a/b:c", 1) == "a_b_c"
    assert len(sheet_title("x" * 40, 12)) == 31


def test_cells_keep_types_and_text_is_escaped(tmp_path):
    import zipfile
    from datetime import date, datetime
    from xml.etree import ElementTree

    import pyarrow as pa
    from openpyxl import load_workbook

    from yd_platform.merge.excel import ExcelSink

    table = pa.table({
        "text": ["a&b<c>", "控\x01制", None],
        "int": pa.array([1, None, -4], pa.int64()),
        "float": [1.5, float("nan"), 1e20],
        "day": pa.array([date(2025, 10, 1)] * 3),
        "moment": pa.array([datetime(2025, 10, 1, 10, 0, 5), None, datetime(2024, 2, 29, 23, 59, 59)],
                           pa.timestamp("ms")),
        "flag": [True, False, None],
    })
    path = tmp_path / "x.xlsx"
    sink = ExcelSink(path, "表", ["文本", "整数", "小数", "日期", "时间", "布尔"])
    sink.append(table)
    sink.close()

    with zipfile.ZipFile(path) as zf:
        ElementTree.fromstring(zf.read("xl/worksheets/sheet1.xml"))  # well-formed XML
    sheet = load_workbook(path).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["文本", "整数", "小数", "日期", "时间", "布尔"]
    assert rows[1] == ["a&b<c>", 1, 1.5, datetime(2025, 10, 1), datetime(2025, 10, 1, 10, 0, 5), True]
    assert rows[2] == ["控\ufffd制", None, None, datetime(2025, 10, 1), None, False]
    assert rows[3] == [None, -4, 1e20, datetime(2025, 10, 1), datetime(2024, 2, 29, 23, 59, 59), None]
    assert sheet["D2"].number_format == "yyyy-mm-dd" and sheet["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
