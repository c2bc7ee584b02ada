"""Bad shop files fail the partition with file, sheet, row and column named, and the
previous good outputs stay as they were."""

import pytest

from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.datasets.layout import merged_excel, merged_parquet
from yd_platform.merge.errors import MergeError
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx

HEADER = ["评价ID", "订单号", "商品ID", "商品名称", "评分", "评价内容", "评价时间"]
GOOD = xlsx(review_rows("g", 3))


def _truncated() -> bytes:
    return GOOD[: len(GOOD) // 2]


CASES = {
    "corrupt": (b"PK\x03\x04 this is not a zip", "bad.xlsx: corrupt xlsx file"),
    "truncated": (_truncated(), "bad.xlsx: corrupt xlsx file"),
    "html_page": (b"<html><body>busy</body></html>", "bad.xlsx: corrupt xlsx file: not a zip archive"),
    "empty_bytes": (b"", "bad.xlsx: empty file (0 bytes)"),
    "empty_csv": (b"", "bad.csv: empty file (0 bytes)"),
    "missing_required": (
        xlsx([["评价ID", "订单号", "商品名称"], ["r1", "o1", "x"]]),
        "bad.xlsx, sheet '报表', row 1, column '评分/描述相符评分': missing required column 'score'"),
    "duplicate_alias": (
        xlsx([["评价ID", "评价编号", "订单号", "评分"], ["r1", "r1", "o1", 5]]),
        "bad.xlsx, sheet '报表', row 1, column B ('评价编号'): duplicate headers '评价ID' and '评价编号' "
        "both map to column 'review_id'"),
    "duplicate_header": (
        xlsx([["评价ID", "订单号", "评分", "订单号"], ["r1", "o1", 5, "o2"]]),
        "bad.xlsx, sheet '报表', row 1, column D ('订单号'): duplicate header '订单号' (also in column B)"),
    "bad_int": (
        xlsx([HEADER, ["r1", "o1", 1, "x", 5, "", ""], ["r2", "o2", 2, "y", "五星", "", ""]]),
        "bad.xlsx, sheet '报表', row 3, column E ('评分'): value '五星' is not a valid int for column 'score'"),
    "bad_datetime": (
        xlsx([["说明: 导出"], HEADER, ["r1", "o1", 1, "x", 5, "", "昨天"]]),
        "bad.xlsx, sheet '报表', row 3, column G ('评价时间'): value '昨天' is not a valid datetime"),
    "no_known_header": (xlsx([["a", "b"], [1, 2]]), "bad.xlsx, sheet '报表', row 1: no known header found"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_message(tmp_path, catalog, case):
    data, message = CASES[case]
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "bad", data, ext="csv" if message.startswith("bad.csv") else "xlsx")
    put_raw(store, ds, "2025-10-01", "good", GOOD)
    with pytest.raises(MergeError) as err:
        merge_partition(store, ds, "2025-10-01")
    assert message in str(err.value)
    assert str(err.value).startswith("pdd__badscore 2025-10-01: ")
    assert not store.exists(merged_parquet(ds, "2025-10-01"))


def test_no_raw_files(tmp_path, catalog):
    with pytest.raises(MergeError, match="no raw files under raw/pdd/badscore/2025-10-01"):
        merge_partition(LocalObjectStore(tmp_path), catalog.dataset("pdd", "badscore"), "2025-10-01")


def test_failed_rerun_keeps_previous_outputs_and_skips_ods(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "good", GOOD)
    assert publish(ds, "2025-10-01", local_resources(tmp_path), instance).success
    before = {k: store.get_bytes(k) for k in (merged_excel(ds, "2025-10-01"), merged_parquet(ds, "2025-10-01"))}
    ods_before = instance.get_latest_materialization_event(ods_key(ds))

    put_raw(store, ds, "2025-10-01", "late", xlsx([HEADER, ["r1", "o1", 1, "x", "abc", "", ""]]))
    result = publish(ds, "2025-10-01", local_resources(tmp_path), instance)

    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "late.xlsx, sheet '报表', row 2, column E ('评分'): value 'abc' is not a valid int" in \
        failure.step_failure_data.user_failure_data.description
    assert {k: store.get_bytes(k) for k in before} == before
    assert instance.get_latest_materialization_event(ods_key(ds)).run_id == ods_before.run_id
    assert instance.get_latest_materialization_event(merged_key(ds)).run_id == ods_before.run_id


def test_sheet_without_cells_is_a_shop_without_rows(tmp_path, catalog):
    """Back-ends export an empty sheet on a day without data: zero rows, not an error
    (the blocking `rows_nonzero` check decides whether the period may be published)."""
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "quiet", xlsx([]))
    put_raw(store, ds, "2025-10-01", "good", GOOD)
    outcome = merge_partition(store, ds, "2025-10-01")
    assert outcome.rows_per_shop == {"good": 3, "quiet": 0}
