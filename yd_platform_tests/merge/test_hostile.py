"""Hostile and unlucky report files: nothing is merged silently wrong, and every refusal
names file, sheet, row and column and takes the quarantine path."""

import json
import zipfile
from xml.etree import ElementTree

import fastexcel
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from yd_platform.merge.errors import MergeError
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import SHEET, put_raw, review_rows, xlsx

DAY = "2025-10-01"
HEADER = ["评价ID", "订单号", "商品ID", "商品名称", "评分", "评价内容", "评价时间"]


def _book(rows: list[list], merge: str | None = None) -> bytes:
    """An xlsx written cell by cell (formulas are saved without a cached value, as openpyxl
    and several export tools do); `merge` merges a cell range."""
    import io

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _merge_error(tmp_path, ds, data: bytes) -> str:
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "bad", data)
    put_raw(store, ds, DAY, "good", xlsx(review_rows("g", 2)))
    with pytest.raises(MergeError) as err:
        merge_partition(store, ds, DAY)
    return str(err.value)


def test_xml_forbidden_characters_leave_a_readable_workbook(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    texts = {"a": "好\ufffe评\uffff!", "b": "控\x0b制\x01"}
    put_raw(store, ds, DAY, "a", _book([HEADER, ["r1", "o1", 1, "衬衫", 5, texts["a"], ""]]))
    put_raw(store, ds, DAY, "b", f"评价ID,订单号,评分,评价内容\nr2,o2,4,{texts['b']}\n".encode(), ext="csv")

    outcome = merge_partition(store, ds, DAY)

    path = tmp_path / outcome.excel_key
    with zipfile.ZipFile(path) as zf:
        ElementTree.fromstring(zf.read("xl/worksheets/sheet1.xml"))  # well-formed XML 1.0
    column = 2 + [c.name for c in ds.columns].index("content")  # after platform, shop_id
    shown = ["好\ufffd评\ufffd!", "控\ufffd制\ufffd"]
    assert [r[column].value for r in load_workbook(path).worksheets[0].iter_rows(min_row=2)] == shown
    assert [r[column] for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[1:]] == shown
    assert fastexcel.read_excel(str(path)).load_sheet(0).to_arrow().num_rows == 2
    # the parquet keeps the text as the back-end sent it
    assert pq.read_table(tmp_path / outcome.parquet_key).column("content").to_pylist() == list(texts.values())


@pytest.mark.parametrize("case, rows, merge, where", [
    ("empty_key", [HEADER, ["r1", "o1", 1, "x", 5, "", ""], [None, "o2", 2, "y", 4, "", ""]], None,
     "bad.xlsx, sheet '报表', row 3, column A ('评价ID'): key column 'review_id' is empty"),
    ("formula_without_value", [HEADER, ["r1", "o1", 1, "x", 5, "", ""], ['=CONCAT("r", 2)', "o2", 2, "y", 4, "", ""]],
     None, "bad.xlsx, sheet '报表', row 3, column A ('评价ID'): key column 'review_id' is empty"),
    ("merged_cell", [HEADER, ["r1", "o1", 1, "x", 5, "", ""], ["r2", "o2", 2, "y", 4, "", ""],
                     ["r3", "o2", 2, "y", 4, "", ""]], "B3:B4",
     "bad.xlsx, sheet '报表', row 4, column B ('订单号'): required column 'order_id' is empty"),
    ("required_blank", [HEADER, ["r1", "o1", 1, "x", "  ", "", ""]], None,
     "bad.xlsx, sheet '报表', row 2, column E ('评分'): required column 'score' is empty"),
])
def test_key_and_required_columns_must_hold_values(tmp_path, catalog, case, rows, merge, where):
    message = _merge_error(tmp_path, catalog.dataset("pdd", "badscore"), _book(rows, merge))
    assert where in message
    assert "a blank cell, a merged cell or a formula saved without its value" in message


def test_key_column_missing_from_the_file(tmp_path, catalog):
    ds = catalog.dataset("jd", "store_inventory")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "a", xlsx([["SKU", "商品名称", "库存数量"], ["s1", "杯子", 3]]))
    with pytest.raises(MergeError, match=r"a.xlsx, sheet '报表', row 1, column '仓库': missing key column 'warehouse'"):
        merge_partition(store, ds, DAY)


@pytest.mark.parametrize("cell, shown", [
    (2**63, "9.223372036854776e+18"),
    ("99999999999999999999", "'99999999999999999999'"),
    (-1e300, "-1e+300"),
])
def test_numbers_out_of_range_name_the_cell(tmp_path, catalog, cell, shown):
    rows = [HEADER, ["r1", "o1", 1, "x", 5, "", ""], ["r2", "o2", 2, "y", cell, "", ""]]
    message = _merge_error(tmp_path, catalog.dataset("pdd", "badscore"), _book(rows))
    assert (f"bad.xlsx, sheet '报表', row 3, column E ('评分'): value {shown} is not a valid int for column "
            "'score' (outside the 64-bit integer range)") in message


def test_bad_cells_take_the_quarantine_path(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore").model_copy(update={"quarantine_bad_files": True})
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "huge", _book([HEADER, ["r1", "o1", 1, "x", 2**64, "", ""]]))
    put_raw(store, ds, DAY, "nokey", _book([HEADER, [None, "o1", 1, "x", 5, "", ""]]))
    put_raw(store, ds, DAY, "good", xlsx(review_rows("g", 2)))

    result = publish(ds, DAY, local_resources(tmp_path), instance)

    assert result.success
    meta = materialization(result, "merged")
    errors = {q["shop"]: q["error"] for q in meta["quarantine_list"]}
    assert errors["huge"].startswith("huge.xlsx, sheet '报表', row 2, column E ('评分'): value 1.84467440737095")
    assert errors["nokey"].startswith("nokey.xlsx, sheet '报表', row 2, column A ('评价ID'): key column")
    assert meta["dagster/row_count"] == 2


def test_footer_rows_are_dropped_and_counted(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "a", _book([HEADER, ["r1", "o1", 1, "x", 5, "", ""], ["r2", "o2", 2, "y", 4, "", ""],
                                        ["合计：", None, None, None, "=SUM(E2:E3)", None, None],
                                        [None, "总 计", None, None, 9, None, None]]))
    put_raw(store, ds, DAY, "b", _book([HEADER, ["r3", "o3", 1, "x", 5, "合计", ""]]))

    result = publish(ds, DAY, local_resources(tmp_path), instance)

    assert result.success
    meta = materialization(result, "merged")
    assert meta["footer_rows_dropped"] == 2
    assert meta["dagster/row_count"] == 3  # a '合计' inside a data row is data


def test_footer_labels_come_from_the_dataset(tmp_path, catalog):
    ds = catalog.dataset("pdd", "goods")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "a", xlsx([["商品ID", "在售", "上架日期", "价格"], ["g1", "是", "2025-09-01", 9.5],
                                       ["本页合计", None, None, 9.5], ["合计", None, None, 9.5]]))
    outcome = merge_partition(store, ds, DAY)
    rows = pq.read_table(tmp_path / outcome.parquet_key).column("goods_id").to_pylist()
    assert rows == ["g1", "合计"] and outcome.footer_rows_dropped == 1


def test_unknown_headers_are_kept_with_a_warning(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "a", xlsx([["评价ID", "订单号", "评分", "追评内容", "", "备注"],
                                       ["r1", "o1", 5, '说"好"\n真的', 12.5, None],
                                       ["r2", "o2", 4, None, None, "x"]]))
    put_raw(store, ds, DAY, "b", xlsx(review_rows("b", 1)))

    result = publish(ds, DAY, local_resources(tmp_path), instance)

    assert result.success
    meta = materialization(result, "merged")
    assert meta["unknown_headers"] == {f"{DAY} a": ["追评内容", "column_E", "备注"]}
    assert "kept in extra_columns" in meta["warning_unknown_headers"]
    outcome = merge_partition(store, ds, DAY)
    table = pq.read_table(tmp_path / outcome.parquet_key)
    extras = [json.loads(v) if v else None for v in table.column("extra_columns").to_pylist()]
    assert extras == [{"追评内容": '说"好"\n真的', "column_E": "12.5", "备注": None},
                      {"追评内容": None, "column_E": None, "备注": "x"}, None]


def test_report_with_no_known_header_is_kept_when_nothing_is_required(tmp_path, catalog):
    ds = catalog.dataset("pdd", "goods")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "a", xlsx([["货号", "库存"], ["A-1", 3], ["A-2", 4]]))
    outcome = merge_partition(store, ds, DAY)
    table = pq.read_table(tmp_path / outcome.parquet_key)
    assert [json.loads(v) for v in table.column("extra_columns").to_pylist()] == [
        {"货号": "A-1", "库存": "3"}, {"货号": "A-2", "库存": "4"}]
    assert outcome.unknown_headers == {"a": ["货号", "库存"]}
