"""The demo back-ends over plain HTTP: logins and cookies, each back-end's answers,
paging and expiry signals, and the fault switches."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from python_calamine import CalamineWorkbook

from yd_platform.demo.data import header, pdd_reviews, report_xlsx
from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import DEMO_PASSWORD, Faults
from yd_platform_tests.processes import wait_until

SYCM = "/tm/sycm.taobao.com/csp/api"


class Browserless:
    """A cookie-keeping HTTP client, enough to talk to the portal like a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path: str, data: bytes | None = None, headers: dict | None = None):
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.geturl(), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read()

    def json(self, path: str, data=None):
        body = json.dumps(data).encode() if data is not None else None
        status, _, raw = self.open(path, body, {"Content-Type": "application/json"} if body else None)
        return status, json.loads(raw)

    def login(self, platform: str, account: str, password: str = DEMO_PASSWORD):
        paths = {"pdd": "/pdd/mms.pinduoduo.com/login/", "tm": "/tm/login.taobao.com/member/login.jhtml",
                 "jd": "/jd/passport.jd.com/new/login.aspx", "erp": "/erp/www.erp321.com/login.aspx"}
        fields = ("fm-login-id", "fm-login-password") if platform == "tm" else ("username", "password")
        form = urllib.parse.urlencode(dict(zip(fields, (account, password)))).encode()
        return self.open(paths[platform], form)

    def cookie_names(self) -> set[str]:
        return {c.name for c in self.jar}


@pytest.fixture
def portal(yd_home, catalog):
    with DemoPortal(catalog=catalog, faults=Faults(generation_seconds=0.0)) as p:
        yield p


def _rows(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def test_login_sets_the_back_ends_own_cookies_and_counts_logins(portal):
    client = Browserless(portal.url)
    status, url, _ = client.open("/pdd/mms.pinduoduo.com/home/")
    assert "/pdd/mms.pinduoduo.com/login/" in url  # a logged-out page goes to the login page
    status, url, page = client.login("pdd", "pdd_acc_01", "wrong")
    assert "login" in url and "账号或密码错误" in page.decode()
    status, url, page = client.login("pdd", "pdd_acc_01")
    assert status == 200 and url.endswith("/pdd/mms.pinduoduo.com/home/") and "pdd_acc_01" in page.decode()
    assert {"PASS_ID", "api_uid"} <= client.cookie_names()
    client.login("tm", "tm_acc_01")
    assert {"cookie2", "_tb_token_"} <= client.cookie_names()
    assert portal.state.stats()["logins"] == {"pdd:pdd_acc_01": 1, "tm:tm_acc_01": 1}


def test_session_token_survives_a_portal_restart(yd_home, catalog):
    with DemoPortal(catalog=catalog) as first:
        token = first.state.issue_token("tm", "tm_acc_01")
    with DemoPortal(catalog=catalog) as second:
        assert second.state.account_for("tm", token) == "tm_acc_01"
        assert second.state.account_for("jd", token) is None  # bound to its platform
        assert second.state.account_for("tm", token.replace("tm_acc_01", "tm_acc_02")) is None
        second.state.expire_sessions()
        assert second.state.account_for("tm", token) is None


def test_tmall_export_takes_the_real_parameters_and_signals_expiry_its_way(portal, catalog):
    client = Browserless(portal.url)
    status, _, page = client.open(f"{SYCM}/user/customize/async-excel?startDate=20251001")
    assert status == 200 and b"fm-login-password" in page  # no session: sycm's login page, not JSON
    assert client.json(f"{SYCM}/aftsale/cst/list.json")[1]["code"] == 5810
    client.login("tm", "tm_acc_02")
    params = {"startDate": "20251001", "endDate": "20251001", "dateType": "day", "dateRange": "cz",
              "reportTemplateId": "8257", "bizCode": "selfMadeReport"}
    iso = {**params, "startDate": "2025-10-01", "endDate": "2025-10-01"}
    assert client.json(f"{SYCM}/user/customize/async-excel?{urllib.parse.urlencode(iso)}")[0] == 400
    other = {**params, "reportTemplateId": "7798"}  # tm_flagship's template, not this shop's
    assert client.json(f"{SYCM}/user/customize/async-excel?{urllib.parse.urlencode(other)}")[1]["code"] == 404
    _, body = client.json(f"{SYCM}/user/customize/async-excel?{urllib.parse.urlencode(params)}")
    task = body["data"]
    assert isinstance(task, int)
    _, listing = client.json(f"{SYCM}/file/task-list.json?pageNo=1&pageSize=10&bizCode=selfMadeReport")
    assert listing["code"] == 200 and [t["message"] for t in listing["data"]["result"] if t["id"] == task] == ["下载完成"]
    _, link = client.json(f"{SYCM}/file/url?id={task}")
    status, _, data = Browserless(portal.url).open(link["data"])  # the link works without cookies
    ds = catalog.dataset("tm", "kpi_self")
    assert status == 200 and _rows(data) == _rows(report_xlsx(ds, "tm_home", "2025-10-01"))
    assert _rows(data)[0] == header(ds)


def _mtop(client: Browserless, api: str, data: dict, token: str | None, sign: str | None = None, jsonp=False):
    text = json.dumps(data, separators=(",", ":"))
    t = str(int(time.time() * 1000))
    sign = sign or hashlib.md5(f"{token}&{t}&12574478&{text}".encode()).hexdigest()
    query = {"appKey": "12574478", "t": t, "sign": sign, "api": api, "v": "1.0",
             **({"type": "jsonp", "dataType": "jsonp", "callback": "mtopjsonp1"} if jsonp else {"type": "originaljson"})}
    _, _, raw = client.open(f"/tm/h5api.m.taobao.com/h5/{api}/1.0/?{urllib.parse.urlencode(query)}",
                            urllib.parse.urlencode({"data": text}).encode())
    return raw.decode()


def test_mtop_wants_the_token_cookie_and_a_signature(portal):
    client = Browserless(portal.url)
    api = "mtop.taobao.wireless.amp2.paas.conversation.list"
    request = {"beginDate": "20251001", "endDate": "20251001", "pageSize": 100, "pageIndex": 1}
    assert "FAIL_SYS_SESSION_EXPIRED" in _mtop(client, api, request, None, sign="x")
    client.login("tm", "tm_acc_01")
    first = json.loads(_mtop(client, api, request, None, sign="x"))
    assert first["ret"][0].startswith("FAIL_SYS_TOKEN_EMPTY") and "_m_h5_tk" in client.cookie_names()
    token = next(c.value for c in client.jar if c.name == "_m_h5_tk").split("_")[0]
    assert "FAIL_SYS_ILLEGAL_ACCESS" in _mtop(client, api, request, token, sign="0" * 32)
    answer = _mtop(client, api, request, token, jsonp=True)
    assert answer.startswith("mtopjsonp1(") and '"SUCCESS::调用成功"' in answer and '"appCid"' in answer


def test_pdd_lists_page_and_switches_change_their_answers(portal):
    client = Browserless(portal.url)
    reviews = "/pdd/mms.pinduoduo.com/saturn/reviews/list"
    request = {"startTime": 1759248000, "endTime": 1759334399, "pageNo": 2, "pageSize": 40,
               "descScore": ["1", "2", "3"], "mainReviewContentStatus": "1", "orderSn": ""}
    assert client.json(reviews, request)[1] == {"success": False, "error_code": 43001, "error_msg": "会话已过期"}
    client.login("pdd", "pdd_acc_01")
    _, body = client.json(reviews, request)
    from datetime import date

    items = pdd_reviews("pdd_acc_01", date(2025, 10, 1))
    assert body["result"]["totalRows"] == len(items) and body["result"]["data"] == items[40:80]
    portal.state.faults.update({"rename_field": "totalRows"})
    assert "totalRows_v2" in client.json(reviews, request)[1]["result"]
    portal.state.faults.update({"rename_field": "", "expire_api": 1})
    assert client.json(reviews, request)[1]["error_code"] == 43001  # once
    assert client.json(reviews, request)[1]["success"] is True
    seen = portal.requests(path="saturn/reviews/list")
    assert [r["answer"] for r in seen] == ["expired", "answered", "answered", "expired", "answered"]


def test_jd_report_list_and_file_switches(portal, catalog):
    client = Browserless(portal.url)
    create = "/jd/zhgateway.jd.com/inventoryajax/reportCenter/recommendReport/downloadERPSupplyChainProData.ajax?uuid=1"
    report_list = "/jd/ppzh.jd.com/brand/reportCenter/myReport/getReportList.ajax?uuid=2"
    status, url, _ = client.open(report_list)
    assert "/jd/passport.jd.com/new/login.aspx" in url  # logged out: sent to the login page
    client.login("jd", "jd_acc_01")
    day = "2025-10-01"
    request = {"isRdc": "0", "brandId": "all", "firstCategoryId": "", "secondCategoryId": "", "thirdCategoryId": "all",
               "date": day, "startDate": day, "endDate": day, "skuId": "", "skuStatusCd": "", "dataType": "realtime",
               "id": 2, "excludeEmpty": "0"}
    portal.state.faults.update({"fail_5xx": 1})
    status, _, page = client.open(create, json.dumps(request).encode(), {"Content-Type": "application/json"})
    assert status == 503 and "系统繁忙" in page.decode()
    _, made = client.json(create, request)
    assert made == {"status": "0", "msg": "success", "content": {"taskName": "默认纵版-20251001-全部-全部-RDC-纵版-实时"}}
    _, listing = client.json(report_list)
    names = [r["reportName"] for r in listing["content"]["data"]]
    assert names[0] != made["content"]["taskName"] and made["content"]["taskName"] in names  # not the newest
    link = next(r["downloadLink"] for r in listing["content"]["data"] if r["reportName"] == made["content"]["taskName"])

    portal.state.faults.update({"html_error": True})
    status, _, data = Browserless(portal.url).open(link)
    assert status == 200 and data.lstrip().lower().startswith(b"<!doctype html")
    portal.state.faults.update({"html_error": False, "truncate": True})
    full = report_xlsx(catalog.dataset("jd", "store_inventory"), "jd_selfrun", day)
    assert len(Browserless(portal.url).open(link)[2]) == len(full) // 2
    assert Browserless(portal.url).open(link.replace("sig=", "sig=x"))[0] == 403


def test_erp_export_reports_progress_for_the_shops_company(portal, catalog):
    client = Browserless(portal.url)
    client.login("erp", "erp_acc_01")
    backend = catalog.platforms["erp"].shops[0].backend
    query = f"owner_co_id={backend['owner_co_id']}&authorize_co_id={backend['authorize_co_id']}"
    base = "/erp/api.erp321.com/erp/webapi/ItemApi/Export/"
    body = {"ip": "", "uid": "1", "coid": str(backend["owner_co_id"]), "isOtherStore": False,
            "data": {"type": 3, "filterType": 2, "searchCondition": {"enabled": "1", "queryFlds": ["sku_id"]}}}
    assert client.json(f"{base}ItemSkuAndInventory?owner_co_id=1&authorize_co_id=1", body)[1]["code"] == 1002
    portal.state.faults.update({"generation_seconds": 5.0})
    _, made = client.json(f"{base}ItemSkuAndInventory?{query}", body)
    _, polled = client.json(f"{base}GetExportData?{query}", {"ip": "", "uid": "", "coid": body["coid"],
                                                              "data": made["data"]})
    assert made["code"] == 0 and polled["code"] == 0 and polled["data"]["progress"] < 100 and not polled["data"]["url"]


def test_captcha_switch_blocks_password_logins(portal):
    client = Browserless(portal.url)
    status, _ = client.json("/_admin/faults", {"captcha": True})
    assert status == 200
    _, _, page = client.open("/tm/login.taobao.com/member/login.jhtml")
    assert 'id="nc_1_n1z"' in page.decode() and 'id="captcha"' in page.decode()
    _, url, _ = client.login("tm", "tm_acc_01")
    assert "login.jhtml" in url
    assert client.json("/_admin/stats")[1]["logins"] == {}
    assert client.json("/_admin/faults", {"no_such_switch": 1})[0] == 400


def test_captcha_code_from_the_image_lets_a_person_in(portal):
    client = Browserless(portal.url)
    portal.state.faults.update({"captcha": True})
    login = "/pdd/mms.pinduoduo.com/login/"
    _, _, page = client.open(login)
    image = re.search(r'id="captcha-image" alt="验证码" src="data:image/svg\+xml;base64,([^"]+)"', page.decode())
    code = re.search(r">(\d{4})<", base64.b64decode(image.group(1)).decode()).group(1)
    form = {"username": "pdd_acc_01", "password": DEMO_PASSWORD, "captcha": "x" + code}
    _, url, page = client.open(login, urllib.parse.urlencode(form).encode())
    assert url.endswith(login) and "请输入正确的验证码" in page.decode()
    form["captcha"] = code  # the code is still unused: a wrong guess does not burn it
    _, url, _ = client.open(login, urllib.parse.urlencode(form).encode())
    assert url.endswith("/pdd/mms.pinduoduo.com/home/")
    _, url, _ = client.open(login, urllib.parse.urlencode(form).encode())
    assert url.endswith(login)  # each code works once
    assert portal.state.stats()["logins"] == {"pdd:pdd_acc_01": 1}


def test_sessions_expire_by_switch_or_admin_call(portal):
    client = Browserless(portal.url)
    report_list = "/jd/ppzh.jd.com/brand/reportCenter/myReport/getReportList.ajax?uuid=1"
    client.login("jd", "jd_acc_01")
    assert client.json(report_list)[1]["message"] == "success"
    assert client.json("/_admin/expire", {})[0] == 200  # the back-end logs everyone out
    assert "login.aspx" in client.open(report_list)[1]

    client.login("jd", "jd_acc_01")
    assert client.json(report_list)[1]["message"] == "success"
    # sessions now last 0.3 s after their login: this one ends on its own
    assert client.json("/_admin/faults", {"session_seconds": 0.3})[1]["session_seconds"] == 0.3
    wait_until(lambda: "login.aspx" in client.open(report_list)[1], "the session expiring", interval=0.1)
