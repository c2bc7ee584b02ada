"""The demo portal over plain HTTP: login, signed sessions, report flows, error switches."""

from __future__ import annotations

import base64
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

from yd_platform.demo.data import header, report_xlsx
from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import DEMO_PASSWORD, Faults


class Browserless:
    """A cookie-keeping HTTP client, enough to talk to the portal like a browser would."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.status, resp.geturl(), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read()

    def json(self, path: str, data: dict | None = None):
        body = json.dumps(data).encode() if data is not None else None
        status, _, raw = self.open(path, body, {"Content-Type": "application/json"} if body else None)
        return status, json.loads(raw)

    def login(self, platform: str, account: str, password: str = DEMO_PASSWORD):
        form = urllib.parse.urlencode({"username": account, "password": password}).encode()
        return self.open(f"/{platform}/login", form)


@pytest.fixture
def portal(yd_home, catalog):
    with DemoPortal(catalog=catalog, faults=Faults(generation_seconds=0.0)) as p:
        yield p


def _rows(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def test_login_sets_a_session_and_counts_logins(portal):
    client = Browserless(portal.url)
    status, url, _ = client.open("/pdd/home")
    assert url.endswith("/pdd/login")
    status, url, page = client.login("pdd", "pdd_acc_01", "wrong")
    assert url.endswith("/pdd/login") and "账号或密码错误" in page.decode()
    status, url, page = client.login("pdd", "pdd_acc_01")
    assert status == 200 and url.endswith("/pdd/home") and "pdd_acc_01" in page.decode()
    assert portal.state.stats()["logins"] == {"pdd:pdd_acc_01": 1}


def test_session_token_survives_a_portal_restart(yd_home, catalog):
    with DemoPortal(catalog=catalog) as first:
        token = first.state.issue_token("tm", "tm_acc_01")
    with DemoPortal(catalog=catalog) as second:
        assert second.state.account_for("tm", token) == "tm_acc_01"
        assert second.state.account_for("jd", token) is None  # bound to its platform
        assert second.state.account_for("tm", token[:-1] + "0") in (None, "tm_acc_01") and \
            second.state.account_for("tm", token.replace("tm_acc_01", "tm_acc_02")) is None
        second.state.expire_sessions()
        assert second.state.account_for("tm", token) is None


def test_tmall_async_excel_flow_serves_the_demo_report(portal, catalog):
    ds = catalog.dataset("tm", "badscore")
    client = Browserless(portal.url)
    _, body = client.json("/tm/csp/api/file/task-list.json?bizCode=selfMadeReport")
    assert body["code"] == 5810  # no session yet
    client.login("tm", "tm_acc_01")
    q = urllib.parse.urlencode({"reportTemplateId": "badscore", "bizCode": "selfMadeReport",
                                "startDate": "2025-10-01", "endDate": "2025-10-01", "shop": "tm_home"})
    _, body = client.json(f"/tm/csp/api/user/customize/async-excel?{q}")
    task = body["data"]["taskId"]
    _, tasks = client.json("/tm/csp/api/file/task-list.json?bizCode=selfMadeReport")
    assert [t["message"] for t in tasks["data"] if t["id"] == task] == ["下载完成"]
    _, body = client.json(f"/tm/csp/api/file/url?id={task}")
    status, _, data = client.open(body["data"]["url"])
    assert status == 200
    assert _rows(data) == _rows(report_xlsx(ds, "tm_home", "2025-10-01"))
    assert _rows(data)[0] == header(ds)
    activity = portal.state.stats()["activity"]
    assert [(a["account"], a["shop"], a["dataset"]) for a in activity] == [("tm_acc_01", "tm_home", "badscore")]


def test_jd_report_centre_and_error_switches(portal, catalog):
    client = Browserless(portal.url)
    assert client.json("/jd/reportCenter/api/myReports")[0] == 401
    client.login("jd", "jd_acc_01")
    request = {"reportType": "store_inventory", "startDate": "2025-10-01", "endDate": "2025-10-01",
               "shop": "jd_pop"}

    portal.state.faults.update({"fail_5xx": 1})
    status, _, page = client.open("/jd/reportCenter/api/create", json.dumps(request).encode())
    assert status == 503 and "系统繁忙" in page.decode()
    _, body = client.json("/jd/reportCenter/api/create", request)
    _, reports = client.json("/jd/reportCenter/api/myReports")
    url = next(r["downloadUrl"] for r in reports["reports"] if r["reportId"] == body["reportId"])

    portal.state.faults.update({"html_error": True})
    status, _, data = client.open(url)
    assert status == 200 and data.lstrip().lower().startswith(b"<!doctype html")
    portal.state.faults.update({"html_error": False, "truncate": True})
    full = report_xlsx(catalog.dataset("jd", "store_inventory"), "jd_pop", "2025-10-01")
    assert len(client.open(url)[2]) == len(full) // 2


def test_captcha_switch_blocks_password_logins(portal):
    client = Browserless(portal.url)
    status, _ = client.json("/_admin/faults", {"captcha": True})
    assert status == 200
    _, _, page = client.open("/erp/login")
    assert 'id="captcha"' in page.decode()
    _, url, _ = client.login("erp", "erp_acc_01")
    assert url.endswith("/erp/login")
    assert client.json("/_admin/stats")[1]["logins"] == {}
    assert client.json("/_admin/faults", {"no_such_switch": 1})[0] == 400


def test_captcha_code_from_the_image_lets_a_person_in(portal):
    client = Browserless(portal.url)
    portal.state.faults.update({"captcha": True})
    _, _, page = client.open("/pdd/login")
    image = re.search(r'id="captcha-image" alt="验证码" src="data:image/svg\+xml;base64,([^"]+)"', page.decode())
    code = re.search(r">(\d{4})<", base64.b64decode(image.group(1)).decode()).group(1)
    form = {"username": "pdd_acc_01", "password": DEMO_PASSWORD, "captcha": "x" + code}
    _, url, page = client.open("/pdd/login", urllib.parse.urlencode(form).encode())
    assert url.endswith("/pdd/login") and "请输入正确的验证码" in page.decode()
    form["captcha"] = code  # the code is still unused: a wrong guess does not burn it
    _, url, _ = client.open("/pdd/login", urllib.parse.urlencode(form).encode())
    assert url.endswith("/pdd/home")
    _, url, _ = client.open("/pdd/login", urllib.parse.urlencode(form).encode())
    assert url.endswith("/pdd/login")  # each code works once
    assert portal.state.stats()["logins"] == {"pdd:pdd_acc_01": 1}


def test_sessions_expire_by_switch_or_admin_call(portal):
    client = Browserless(portal.url)
    client.login("jd", "jd_acc_01")
    assert client.json("/jd/reportCenter/api/myReports")[0] == 200
    assert client.json("/_admin/expire", {})[0] == 200  # the back-end logs everyone out
    assert client.json("/jd/reportCenter/api/myReports")[0] == 401

    assert client.json("/_admin/faults", {"session_seconds": 0.3})[1]["session_seconds"] == 0.3
    client.login("jd", "jd_acc_01")
    assert client.json("/jd/reportCenter/api/myReports")[0] == 200
    time.sleep(0.5)
    assert client.json("/jd/reportCenter/api/myReports")[0] == 401
