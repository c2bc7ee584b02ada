"""File verification: real reports pass; HTML pages, JSON answers, truncated and foreign files fail."""

import pytest

from yd_platform.collect.errors import BadReportFile, PermanentError
from yd_platform.collect.verify import looks_like_json, verify_report
from yd_platform.demo.data import report_rows, report_xlsx


@pytest.fixture
def ds(catalog):
    return catalog.dataset("pdd", "badscore")


def test_demo_report_passes_with_its_row_count(ds):
    report = verify_report(report_xlsx(ds, "pdd_kids", "2025-10-01"), ds)
    assert report.ext == "xlsx"
    assert report.rows == len(report_rows(ds, "pdd_kids", "2025-10-01"))
    assert report.header[0] == "评价ID"


def test_csv_with_chinese_header_passes(ds):
    data = "评价编号,订单号,评分\nr1,o1,1\nr2,o2,2\n".encode("gb18030")
    assert verify_report(data, ds).rows == 2


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"<!DOCTYPE html><html><body>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xb9\x81\xe5\xbf\x99</body></html>", "HTML page"),
    (b"  \n<html><head></head></html>", "HTML page"),
    ('{"code": 5810, "message": "登录已过期"}'.encode(), "JSON answer"),
    (b'\xef\xbb\xbf[{"error": "busy"}]', "JSON answer"),
])
def test_not_a_report(ds, data, reason):
    with pytest.raises(BadReportFile, match=reason):
        verify_report(data, ds)


def test_truncated_xlsx_fails(ds):
    data = report_xlsx(ds, "pdd_kids", "2025-10-01")
    with pytest.raises(BadReportFile, match="truncated"):
        verify_report(data[: len(data) - 200], ds)


def test_other_report_is_refused(ds, catalog):
    other = catalog.dataset("jd", "store_inventory")
    with pytest.raises(PermanentError, match="misses required columns"):
        verify_report(report_xlsx(other, "jd_pop", "2025-10-01"), ds)
    with pytest.raises(PermanentError, match="misses required columns"):
        verify_report("评价ID,商品ID\nr1,g1\n".encode(), ds)


def test_only_a_whole_json_document_counts_as_json():
    assert looks_like_json(b' {"success": false, "errorMsg": "busy"}')
    assert not looks_like_json("[评价ID],订单号\nr1,o1\n".encode())  # a CSV that starts with a bracket
