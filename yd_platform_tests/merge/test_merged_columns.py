"""The merged partition's columns: each platform's Chinese headers map onto the canonical
columns with types coerced, the period columns, a CSV in GB18030, duplicates dropped."""

from datetime import date, datetime

import pyarrow.parquet as pq
import pytest
from python_calamine import CalamineWorkbook

from yd_platform.datasets.schema import excel_headers, merged_schema
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.object_files import put_raw, xlsx

# (platform, dataset, header row using each column's LAST alias + one unknown column, a data row)
CASES = {
    "pdd": ("badscore", ["评价编号", "订单编号", "商品ID", "商品名称", "描述相符评分", "评价内容", "评价时间", "备注"],
            ["r1", 12345678901.0, 77.0, "衬衫", 4.0, "好", datetime(2025, 10, 1, 9, 30), "x"]),
    "tm": ("badscore", ["评价ID", "订单号", "商品名称", "评分", "评价内容", "评价时间", "其他"],
           ["t1", "o-9", "毛巾", "2", "差", "2025/10/01 08:00:00", ""]),
    "jd": ("store_inventory", ["商品编码", "商品名称", "仓库", "可用库存", "在途数量"],
           ["sku-1", "杯子", "北京仓", "1,200", None]),
    "erp": ("store_data", ["门店编码", "门店名称", "销售金额", "订单数", "库存金额"],
            [101.0, "一号店", "¥3,456.70", 12.0, "12.5%"]),
}
EXPECTED = {
    "pdd": {"review_id": "r1", "order_id": "12345678901", "goods_id": "77", "score": 4, "content": "好",
            "review_time": datetime(2025, 10, 1, 9, 30)},
    "tm": {"review_id": "t1", "order_id": "o-9", "goods_name": "毛巾", "score": 2,
           "review_time": datetime(2025, 10, 1, 8, 0)},
    "jd": {"sku_id": "sku-1", "warehouse": "北京仓", "stock_qty": 1200, "in_transit_qty": None},
    "erp": {"store_code": "101", "sales_amount": 3456.7, "orders": 12, "stock_amount": 0.125},
}


@pytest.mark.parametrize("platform", sorted(CASES))
def test_headers_map_to_canonical_columns(tmp_path, catalog, platform):
    code, header, row = CASES[platform]
    ds = catalog.dataset(platform, code)
    store = LocalObjectStore(tmp_path)
    # a title line above the header, as some back-ends export it
    put_raw(store, ds, "2025-10-01", "shop_a", xlsx([[f"{ds.name} 导出"], header, row]))

    outcome = merge_partition(store, ds, "2025-10-01")

    table = pq.read_table(tmp_path / outcome.parquet_key)
    assert table.schema.equals(merged_schema(ds))
    record = table.to_pylist()[0]
    for name, value in EXPECTED[platform].items():
        assert record[name] == value, name
    assert record["platform"] == platform and record["shop_id"] == "shop_a"
    assert record["period"] == "2025-10-01"
    assert record["period_start"] == record["period_end"] == date(2025, 10, 1)

    sheet = CalamineWorkbook.from_path(str(tmp_path / outcome.excel_key)).get_sheet_by_index(0)
    rows = sheet.to_python()
    assert sheet.name == ds.name
    assert rows[0] == excel_headers(ds)
    assert len(rows) == 2


def test_weekly_period_columns(tmp_path, catalog):
    ds = catalog.dataset("pdd", "kpi_weekly")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-09-27", "s", xlsx([["客服账号", "咨询人数"], ["小王", 3]]))
    outcome = merge_partition(store, ds, "2025-09-27")
    record = pq.read_table(tmp_path / outcome.parquet_key).to_pylist()[0]
    assert record["period"] == "2025-09-27_2025-10-03"
    assert (record["period_start"], record["period_end"]) == (date(2025, 9, 27), date(2025, 10, 3))
    assert record["consultations"] == 3 and record["avg_response_seconds"] is None


def test_csv_report_in_gb18030(tmp_path, catalog):
    ds = catalog.dataset("erp", "store_data")
    store = LocalObjectStore(tmp_path)
    text = "门店编码,销售额,订单数\nS01,10.5,3\nS02,0,\n"
    put_raw(store, ds, "2025-10-01", "erp_main", text.encode("gb18030"), ext="csv")
    outcome = merge_partition(store, ds, "2025-10-01")
    rows = pq.read_table(tmp_path / outcome.parquet_key).to_pylist()
    assert [(r["store_code"], r["sales_amount"], r["orders"]) for r in rows] == [("S01", 10.5, 3), ("S02", 0.0, None)]


def test_exact_duplicates_dropped_and_key_conflicts_kept(tmp_path, catalog):
    """A repeated export row goes; two different rows under one key stay for `keys_unique`."""
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    header = ["评价ID", "订单号", "评分"]
    rows = [header, ["a", "o1", 5], ["a", "o1", 5], ["b", "o2", 3], ["b", "o2", 1], ["a", "o1", 5]]
    put_raw(store, ds, "2025-10-01", "s", xlsx(rows))
    outcome = merge_partition(store, ds, "2025-10-01")
    records = pq.read_table(tmp_path / outcome.parquet_key).to_pylist()
    assert [(r["review_id"], r["score"]) for r in records] == [("a", 5), ("b", 3), ("b", 1)]
    assert outcome.rows == 3 and outcome.duplicates_dropped == 2


def test_exact_duplicates_dropped_without_key_columns(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    ds = ds.model_copy(update={"columns": [c.model_copy(update={"key": False}) for c in ds.columns]})
    store = LocalObjectStore(tmp_path)
    header = ["评价ID", "订单号", "评分"]
    put_raw(store, ds, "2025-10-01", "s", xlsx([header, ["a", "o1", 5], ["a", "o1", 5], ["a", "o1", 1]]))
    outcome = merge_partition(store, ds, "2025-10-01")
    rows = pq.read_table(tmp_path / outcome.parquet_key).to_pylist()
    assert [(r["review_id"], r["score"]) for r in rows] == [("a", 5), ("a", 1)]
    assert outcome.duplicates_dropped == 1
