"""Each dataset's real back-end flow, through real Chromium against the demo portal.

Per dataset: the whole flow (every page, polling until ready) gives the rows the
back-end holds and sends exactly the real parameters; an expired session, signalled
the way that back-end does it, is noticed and logged in again; an answer that changed
shape fails naming the field. Collectors are called directly (the Dagster side is
covered in test_collectors); Chromium is shared by every test of the session.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from yd_platform.catalog.periods import period_for_tick
from yd_platform.collect.errors import ManualLoginNeeded, PermanentError
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.platforms import collector_class
from yd_platform.collect.platforms.answers import AnswerShapeError
from yd_platform.demo import data
from yd_platform.resources.merchant_backends import collector_from_env
from yd_platform_tests.collect.helpers import expected_rows, read_rows

pytestmark = pytest.mark.slow

TICK = date(2025, 10, 4)  # a Saturday
ZONE = ZoneInfo("Asia/Shanghai")
# Small pages and no pauses, so that paging (and cursor paging) happens quickly.
FAST = {"page_pause_seconds": 0, "conversation_pause_seconds": 0}
SMALLER_PAGES = {("tm", "chat"): {"page_size": 2, "message_count": 2}}

DATASETS = [("pdd", "badscore"), ("pdd", "quality"), ("pdd", "kpi_days"), ("pdd", "kpi_weekly"),
            ("pdd", "kpi_monthly"), ("tm", "kpi_self"), ("tm", "kpi_official"), ("tm", "badscore"),
            ("tm", "chat"), ("jd", "store_inventory"), ("erp", "goodscount"), ("erp", "goodsbom")]


def job_for(catalog, platform: str, code: str, shop_index: int = 0) -> CollectJob:
    ds = catalog.dataset(platform, code)
    ds = ds.model_copy(update={"report": {**ds.report, **FAST, **SMALLER_PAGES.get((platform, code), {})}})
    shop = catalog.platforms[platform].shops[shop_index]
    return CollectJob(ds, period_for_tick(ds, TICK), shop.id, shop.login_account)


def collect(job: CollectJob):
    return collector_class(job.ds.collector)(collector_from_env()).collect(job)


def unix(day: date, end: bool = False) -> int:
    moment = datetime.combine(day, datetime.max.time().replace(microsecond=0) if end else datetime.min.time(), ZONE)
    return int(moment.timestamp())


def check_requests(demo, job: CollectJob) -> None:
    """The parameters each back-end received: real names, formats and ids, nothing invented."""
    ds, p = job.ds, job.period
    reqs = [r for r in demo.state.stats()["requests"] if r["platform"] == ds.platform and r["answer"] != "expired"]
    apis = [r for r in reqs if r["answer"] == "answered"]
    assert all("shop" not in r["query"] and "shop" not in (r["body"] or {}) for r in reqs)
    files = [r for r in reqs if r["answer"] == "file"]
    assert all(r["cookies"] == [] for r in files)  # report links are fetched without cookies
    ymd = p.start.strftime("%Y%m%d")
    if ds.platform == "pdd":
        assert all(r["headers"]["anti-content"] == "" and r["headers"]["referer"].startswith("https://mms") for r in apis)
    if (ds.platform, ds.code) == ("pdd", "badscore"):
        bodies = [r["body"] for r in apis]
        assert [b["pageNo"] for b in bodies] == list(range(1, len(bodies) + 1)) and len(bodies) >= 2
        assert bodies[0] == {"startTime": unix(p.start), "endTime": unix(p.end, True), "pageNo": 1, "pageSize": 40,
                             "descScore": ["1", "2", "3"], "mainReviewContentStatus": "1", "orderSn": ""}
    elif (ds.platform, ds.code) == ("pdd", "quality"):
        assert [r["body"] for r in apis][:2] == [{"sort_field": 1, "sort_type": "ASC", "page_size": 40, "page_no": n}
                                                 for n in (1, 2)]
    elif ds.platform == "pdd":
        [call] = apis
        assert call["query"] == {"starttime": str(unix(p.start)), "endtime": str(unix(p.end, True)),
                                 "csRemoveRefundSalesAmountGray": "true"}
        assert call["headers"]["referer"] == "https://mms.pinduoduo.com/mms-chat/overview/merchant"
        assert len(files) == 1
    elif ds.code == "kpi_self":
        create, *polls = [r for r in apis if r["path"].endswith("async-excel") or r["path"].endswith("task-list.json")]
        template = next(s for s in demo.catalog.platforms["tm"].shops if s.id == job.shop).backend["template_id"]
        assert create["query"] == {"startDate": ymd, "endDate": ymd, "dateType": "day", "dateRange": "cz",
                                   "reportTemplateId": str(template), "bizCode": "selfMadeReport"}
        assert create["headers"]["bx-v"] == "2.5.31"
        assert len(polls) >= 2 and all(r["query"] == {"pageNo": "1", "pageSize": "10", "bizCode": "selfMadeReport"}
                                       for r in polls)
        assert len(files) == 1
    elif ds.code == "kpi_official":
        assert [r["query"]["page"] for r in apis] == [str(n) for n in range(1, len(apis) + 1)] and len(apis) >= 2
        assert apis[0]["query"] == {"dateRange": "cz", "startDate": ymd, "endDate": ymd, "dateType": "day",
                                    "excludeDates": "", "orderBy": "aftSaleRplyUv", "order": "desc", "page": "1",
                                    "pageSize": "10", "wwGroup": "", "accountId": "", "qnGroupId": ""}
        assert apis[0]["headers"]["sycm-referer"] == "/qos/service/frame/customer/performance/new"
    elif ds.platform == "tm":  # mtop: signed, the data field in a form; the first call fetches the token
        assert "_m_h5_tk" not in apis[0]["cookies"]
        apis = [r for r in apis if "_m_h5_tk" in r["cookies"]]
        assert all(r["query"]["appKey"] == "12574478" and len(r["query"]["sign"]) == 32 for r in apis)
        if ds.code == "badscore":
            pages = [json.loads(json.loads(r["body"]["data"])["jsonBody"]) for r in apis]
            assert [pg["pagination"]["current"] for pg in pages] == list(range(1, len(pages) + 1)) and len(pages) >= 2
            assert pages[0] | {"pagination": None} == {"pageType": "rateWait4PC", "pagination": None, "emotion": 13,
                                                        "dateRange": [ymd, ymd]}
        else:
            convs = [r for r in apis if "conversation.list" in r["path"]]
            msgs = [r for r in apis if "message.list" in r["path"]]
            assert len(convs) >= 2 and all(r["query"]["type"] == "jsonp" for r in apis)
            cursors = {}
            for r in msgs:
                body = json.loads(r["body"]["data"])
                cursors.setdefault(body["cid"], []).append(body["cursor"])
            assert any(len(c) > 1 for c in cursors.values())  # followed nextCursor
    elif ds.platform == "jd":
        create = next(r for r in apis if r["host"] == "zhgateway.jd.com")
        assert create["body"] == {"isRdc": "0", "brandId": "all", "firstCategoryId": "", "secondCategoryId": "",
                                  "thirdCategoryId": "all", "date": p.start.isoformat(),
                                  "startDate": p.start.isoformat(), "endDate": p.start.isoformat(), "skuId": "",
                                  "skuStatusCd": "", "dataType": "realtime", "id": 2, "excludeEmpty": "0"}
        assert sum("getReportList" in r["path"] for r in apis) >= 2
        assert [f["query"]["id"] for f in files] != []
    elif ds.code == "goodscount":
        backend = demo.catalog.platforms["erp"].shops[0].backend
        company = {"owner_co_id": str(backend["owner_co_id"]), "authorize_co_id": str(backend["authorize_co_id"])}
        assert all(r["query"] == company for r in apis)
        create, *polls = apis
        assert create["body"]["coid"] == company["owner_co_id"] and create["body"]["uid"] == str(backend["uid"])
        assert create["body"]["data"]["searchCondition"]["queryFlds"] == ds.report["query_fields"]
        assert len(polls) >= 2 and polls[0]["body"] == {"ip": "", "uid": "", "coid": company["owner_co_id"],
                                                        "data": polls[0]["body"]["data"]}
    else:  # goodsbom: the page's export menu, a browser download with the session
        [download] = apis
        assert download["path"].endswith("bom/export.aspx") and "u_sso_token" in download["cookies"]


@pytest.mark.parametrize("platform, code", DATASETS)
def test_flow_reads_everything_with_the_real_parameters(demo, catalog, platform, code):
    demo.state.faults.generation_seconds = 0.6  # a few polls
    job = job_for(catalog, platform, code)
    got = collect(job)
    assert got.report.rows == expected_rows(job)
    assert got.report.header[: len(job.ds.columns)] != []
    check_requests(demo, job)


@pytest.mark.parametrize("platform, code, signal", [
    ("pdd", "badscore", "error_code 43001"), ("pdd", "kpi_days", "error_code 43001"),
    ("tm", "kpi_self", "HTML page"), ("tm", "kpi_official", "code 5810"),
    ("tm", "badscore", "FAIL_SYS_SESSION_EXPIRED"), ("tm", "chat", "FAIL_SYS_SESSION_EXPIRED"),
    ("jd", "store_inventory", "login page"), ("erp", "goodscount", "login page"), ("erp", "goodsbom", "login page"),
])
def test_an_expired_session_is_noticed_as_the_back_end_signals_it(demo, catalog, platform, code, signal, caplog):
    job = job_for(catalog, platform, code)
    collect(job)  # logs in and saves the session
    demo.state.faults.expire_api = 1  # the next API call finds the session gone
    with caplog.at_level("WARNING"):
        got = collect(job)
    assert got.logins == 1 and got.report.rows == expected_rows(job)
    assert any(signal in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert [r["answer"] for r in demo.state.stats()["requests"]].count("expired") == 1


@pytest.mark.parametrize("platform, code, renamed, named", [
    ("pdd", "badscore", "totalRows", "result.totalRows"), ("pdd", "quality", "goods_list", "result.goods_list"),
    ("pdd", "kpi_weekly", "result", "'result'"), ("tm", "kpi_self", "result", "data.result"),
    ("tm", "kpi_official", "sumResult", "data.sumResult"), ("tm", "badscore", "dataSource", "data.data.dataSource"),
    ("tm", "chat", "userMessages", "data.userMessages"), ("jd", "store_inventory", "taskName", "content.taskName"),
    ("erp", "goodscount", "progress", "data.progress"),
])
def test_a_changed_answer_fails_naming_the_field(demo, catalog, platform, code, renamed, named):
    demo.state.faults.rename_field = renamed
    with pytest.raises(AnswerShapeError, match=named.replace(".", r"\.")) as caught:
        collect(job_for(catalog, platform, code))
    assert "changed" in str(caught.value) and caught.value.retryable is False


def test_a_required_item_field_missing_is_named(demo, catalog):
    demo.state.faults.rename_field = "orderSn"
    with pytest.raises(AnswerShapeError, match=r"no field 'orderSn'"):
        collect(job_for(catalog, "pdd", "badscore"))


def test_pdd_written_report_has_stable_chinese_headers_and_keeps_text_as_text(demo, catalog):
    job = job_for(catalog, "pdd", "badscore")
    got = collect(job)
    rows = read_rows(got.data)
    assert rows[0] == ["订单号", "商品ID", "评分", "评价内容", "商品名称", "商品链接", "图片"]
    assert "=热销款 T恤" in [r[4] for r in rows[1:]]  # a formula-looking name stays text
    item = data.pdd_reviews(job.account, job.period.start)[0]
    assert rows[1][0] == item["orderSn"] and rows[1][6] == "\n".join(p["url"] for p in item["pictures"])


def test_without_demo_logins_pdd_needs_a_person_and_says_why(demo, catalog, monkeypatch):
    monkeypatch.setenv("YD_PORTAL_DEMO", "0")
    with pytest.raises(ManualLoginNeeded, match="yd-platform login pdd pdd_acc_01") as caught:
        collect(job_for(catalog, "pdd", "kpi_days"))
    assert caught.value.diagnostics["screenshot"].endswith(".png")
    assert demo.state.stats()["logins"] == {}


def test_tmall_logs_in_with_the_password_from_the_environment(demo, catalog, monkeypatch):
    monkeypatch.setenv("YD_PORTAL_DEMO", "0")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_02_USER", "tm_acc_02")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_02_PASSWORD", demo.state.demo_password)
    got = collect(job_for(catalog, "tm", "kpi_self", shop_index=1))
    assert got.logins == 1 and demo.state.stats()["logins"] == {"tm:tm_acc_02": 1}
    [create] = [r for r in demo.state.stats()["requests"] if r["path"].endswith("async-excel")]
    assert create["query"]["reportTemplateId"] == "8257"  # tm_home's own template
    assert {"cookie2", "_tb_token_"} <= set(create["cookies"])


def test_a_wrong_template_id_is_refused_by_the_back_end(demo, catalog, monkeypatch):
    job = job_for(catalog, "tm", "kpi_self")
    monkeypatch.setattr("yd_platform.collect.platforms.tm.shop_backend", lambda job, *names: {"template_id": 1})
    with pytest.raises(PermanentError, match="报表模板不存在"):
        collect(job)


def test_reports_the_collector_writes_merge_and_publish(demo, catalog, tmp_path, instance):
    """The xlsx written from JSON lists fits its catalog columns (types, keys) all the way
    to the ODS table."""
    from yd_platform.resources.object_store import LocalObjectStore, ObjectStoreResource
    from yd_platform.resources.table_engine import TableEngineResource
    from yd_platform_tests.dagster_events import materialization
    from yd_platform_tests.dataset_assets import publish
    from yd_platform_tests.object_files import put_raw

    resources = {"object_store": ObjectStoreResource(backend="local", root=str(tmp_path)),
                 "table_engine": TableEngineResource(engine="duckdb")}
    for platform, code in [("pdd", "quality"), ("tm", "kpi_official"), ("tm", "chat")]:  # the most typed columns
        job = job_for(catalog, platform, code)
        put_raw(LocalObjectStore(tmp_path), job.ds, job.period.key, job.shop, collect(job).data)
        result = publish(catalog.dataset(platform, code), job.period.key, resources, instance)
        assert result.success, f"{platform}/{code} did not merge and publish"
        assert materialization(result, "ods")["dagster/row_count"] == expected_rows(job)
