"""The demo merchant portal: a small web app that behaves like the four back-ends.

Each platform lives under its own path prefix and mimics how the real back-end is
driven (see the reference notes):

| platform | request                                         | status                              | file                    |
|----------|-------------------------------------------------|-------------------------------------|-------------------------|
| tm       | GET /tm/csp/api/user/customize/async-excel      | GET /tm/csp/api/file/task-list.json | GET /tm/csp/api/file/url |
| jd       | POST /jd/reportCenter/api/create (JSON)         | GET /jd/reportCenter/api/myReports  | downloadUrl of the entry |
| pdd      | GET /pdd/chats/csReportDetail/download          | GET /pdd/chats/csReportDetail/status| downloadUrl              |
| erp      | GET /erp/api/export (synchronous)               | -                                   | the response itself      |

All of them need the session cookie from `/<platform>/login` (a form; with the
`captcha` switch it also asks for a code shown as an image, which a person at
`yd-platform login` can type and a collector must not try). Expired sessions answer
401, or on tm `{"code": 5810}` as the real one does. Reports are `demo.data.report_xlsx` for
the dataset whose `report:` parameters match the request.

Admin endpoints (for tests and rehearsals): `GET /_admin/stats` (logins per account,
activity intervals, switches), `POST /_admin/faults` (JSON of `Faults` fields),
`POST /_admin/expire` (log everyone out), `POST /_admin/reset`, `GET /_admin/health`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import date, datetime
from html import escape
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from yd_platform.catalog import Catalog, DatasetSpec, load_catalog
from yd_platform.catalog.periods import Period
from yd_platform.demo.data import report_xlsx
from yd_platform.demo.portal_state import ACCOUNT_RE, Faults, PortalState, ReportTask, portal_secret

PLATFORMS = ("pdd", "tm", "jd", "erp")
COOKIE = "yd_session"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How each back-end names the catalog's `report:` parameters in its requests.
PARAM_NAMES = {
    "tm": {"template_id": "reportTemplateId", "biz_code": "bizCode"},
    "jd": {"report_type": "reportType"},
    "erp": {"report_type": "report"},
    "pdd": {},
}
TITLES = {"pdd": "拼多多商家后台", "tm": "生意参谋", "jd": "京东商家报表中心", "erp": "ERP 管理系统"}


class PortalError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def captcha_image(code: str) -> str:
    """The code as an SVG image (a data URL): readable by a person, not by the page's text."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='96' height='32'>"
        "<rect width='96' height='32' fill='#eef'/><path d='M0 20 L96 8' stroke='#99a'/>"
        f"<text x='14' y='23' font-family='monospace' font-size='20' fill='#334'>{code}</text></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def login_page(platform: str, captcha: str | None, error: str = "") -> str:
    """The login form; with a captcha code, it also asks for the code shown as an image."""
    challenge = (
        f'<div class="captcha"><img id="captcha-image" alt="验证码" src="{captcha_image(captcha)}">'
        '<input id="captcha" name="captcha" placeholder="请输入验证码"></div>' if captcha else ""
    )
    err = f'<p id="login-error" class="error">{escape(error)}</p>' if error else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{TITLES[platform]} - 登录</title></head>"
        f"<body><h1>{TITLES[platform]}</h1>{err}<form id='login-form' method='post' action='/{platform}/login'>"
        "<input id='username' name='username' placeholder='账号'>"
        "<input id='password' name='password' type='password' placeholder='密码'>"
        f"{challenge}<button id='login' type='submit'>登录</button></form></body></html>"
    )


def home_page(platform: str, account: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{TITLES[platform]}</title></head>"
        f"<body><h1>{TITLES[platform]}</h1><div id='account'>{escape(account)}</div>"
        "<p>报表中心：请选择报表并导出。</p></body></html>"
    )


ERROR_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>系统繁忙</title></head>"
    "<body><h1>系统繁忙，请稍后再试</h1></body></html>"
)


def period_key(ds: DatasetSpec, start: str) -> str:
    """The partition key of the dataset's period that starts on `start` (only the
    start day and the cadence decide the key)."""
    day = date.fromisoformat(start)
    return Period(day, day, ds.cadence).key


class _QuietServer(ThreadingHTTPServer):
    """Clients that give up (a collector's timeout) are normal here, not tracebacks."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class DemoPortal:
    """The portal server; `start()` serves it from a background thread and returns its URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, catalog: Catalog | None = None,
                 secret: bytes | None = None, faults: Faults | None = None,
                 demo_password: str | None = None):
        self.catalog = catalog or load_catalog()
        self.state = PortalState(secret=secret or portal_secret(), faults=faults or Faults())
        if demo_password:
            self.state.demo_password = demo_password
        self.server = _QuietServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self.server.serve_forever, name="yd-demo-portal", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> DemoPortal:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- report lookup -------------------------------------------------------
    def dataset_for(self, platform: str, params: dict[str, str]) -> DatasetSpec:
        names = PARAM_NAMES[platform]
        for ds in self.catalog.platforms[platform].datasets.values():
            if ds.report and all(str(params.get(names.get(k, k))) == str(v) for k, v in ds.report.items()):
                return ds
        raise PortalError(400, f"no such report on {platform}: {params}")

    def new_task(self, platform: str, account: str, params: dict[str, str], start: str) -> ReportTask:
        ds = self.dataset_for(platform, params)
        shop = params.get("shop") or ""
        if not shop:
            raise PortalError(400, "missing shop")
        try:
            key = period_key(ds, start)
        except ValueError:
            raise PortalError(400, f"bad start date {start!r}") from None
        return self.state.new_task(platform, account, shop, ds.code, key)

    def report_file(self, task: ReportTask) -> bytes:
        ds = self.catalog.platforms[task.platform].datasets[task.dataset]
        return report_xlsx(ds, task.shop, task.period_key)


def _unix_to_day(value: str) -> str:
    """PDD's unix-second bounds are read in the back-end's timezone (Asia/Shanghai)."""
    return datetime.fromtimestamp(int(value), ZoneInfo("Asia/Shanghai")).date().isoformat()


def _handler_for(portal: DemoPortal) -> type[BaseHTTPRequestHandler]:
    state = portal.state

    class Handler(BaseHTTPRequestHandler):
        server_version = "YdDemoPortal/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        # -- plumbing ------------------------------------------------------
        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, payload, status: int = 200) -> None:
            self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8")

        def _html(self, text: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
            self._send(status, text.encode(), "text/html; charset=utf-8", headers)

        def _redirect(self, location: str, headers: dict[str, str] | None = None) -> None:
            self._send(302, b"", "text/plain", {"Location": location, **(headers or {})})

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _account(self, platform: str) -> str | None:
            jar = cookies.SimpleCookie(self.headers.get("Cookie") or "")
            morsel = jar.get(f"{COOKIE}_{platform}")
            return state.account_for(platform, morsel.value if morsel else None)

        def do_GET(self):
            self._dispatch("GET")

        def do_POST(self):
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            try:
                if parts[:1] == ["_admin"]:
                    return self._admin(method, parts[1:] if len(parts) > 1 else [""])
                if not parts or parts[0] not in PLATFORMS:
                    raise PortalError(404, f"no such page {url.path}")
                platform, rest = parts[0], "/".join(parts[1:])
                if rest == "login":
                    return self._login(platform, method)
                if rest in ("", "home"):
                    account = self._account(platform)
                    if not account:
                        return self._redirect(f"/{platform}/login")
                    return self._html(home_page(platform, account))
                self._api(platform, method, rest, query)
            except PortalError as exc:
                self._json({"success": False, "errorMsg": str(exc)}, exc.status)

        # -- admin ---------------------------------------------------------
        def _admin(self, method: str, parts: list[str]) -> None:
            action = parts[0]
            if action == "health":
                return self._json({"ok": True})
            if action == "stats":
                return self._json(state.stats())
            if method != "POST":
                raise PortalError(405, "admin changes need POST")
            if action == "faults":
                try:
                    state.faults.update(json.loads(self._body() or b"{}"))
                except (ValueError, TypeError) as exc:
                    raise PortalError(400, str(exc)) from None
                return self._json(state.stats()["faults"])
            if action == "expire":
                state.expire_sessions()
                return self._json({"ok": True})
            if action == "reset":
                state.reset()
                return self._json({"ok": True})
            raise PortalError(404, f"no admin action {action!r}")

        # -- login ---------------------------------------------------------
        def _login(self, platform: str, method: str) -> None:
            captcha = state.faults.captcha
            if method == "GET":
                return self._html(login_page(platform, state.new_captcha() if captcha else None))
            form = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
            user, password = form.get("username", ""), form.get("password", "")
            if captcha and not state.pass_captcha(form.get("captcha", "")):
                return self._html(login_page(platform, state.new_captcha(), "请输入正确的验证码"))
            if not ACCOUNT_RE.match(user) or password != state.demo_password:
                return self._html(login_page(platform, state.new_captcha() if captcha else None, "账号或密码错误"))
            state.record_login(platform, user)
            token = state.issue_token(platform, user)
            cookie = f"{COOKIE}_{platform}={token}; Path=/{platform}; HttpOnly; SameSite=Lax"
            self._redirect(f"/{platform}/home", {"Set-Cookie": cookie})

        # -- report APIs ---------------------------------------------------
        def _api(self, platform: str, method: str, rest: str, query: dict[str, str]) -> None:
            account = self._account(platform)
            if not account:
                if platform == "tm":
                    return self._json({"code": 5810, "message": "登录已过期，请重新登录"})
                raise PortalError(401, "login expired")
            if state.faults.slow_seconds:
                time.sleep(state.faults.slow_seconds)
            if state.take_5xx():
                return self._html(ERROR_PAGE, 503)
            handler = getattr(self, f"_{platform}_api")
            handler(account, method, rest, query)

        def _file(self, platform: str, account: str, task_id: str) -> None:
            task = state.task(platform, account, task_id)
            if task is None:
                raise PortalError(404, f"no report {task_id}")
            if not task.ready():
                raise PortalError(409, "report not ready")
            self._send_report(task)

        def _send_report(self, task: ReportTask) -> None:
            if state.faults.html_error:
                return self._html(ERROR_PAGE, 200)
            data = portal.report_file(task)
            if state.faults.truncate:
                data = data[: len(data) // 2]
            state.finish_task(task)
            name = f"{task.dataset}_{task.period_key}_{task.shop}.xlsx"
            self._send(200, data, XLSX_TYPE, {"Content-Disposition": f'attachment; filename="{name}"'})

        def _tm_api(self, account, method, rest, q):
            if rest == "csp/api/user/customize/async-excel":
                task = portal.new_task("tm", account, q, q.get("startDate", ""))
                return self._json({"code": 0, "data": {"taskId": task.id}})
            if rest == "csp/api/file/task-list.json":
                tasks = [t for t in state.tasks.values() if t.platform == "tm" and t.account == account]
                return self._json({"code": 0, "data": [
                    {"id": t.id, "status": 2 if t.ready() else 1, "message": "下载完成" if t.ready() else "生成中"}
                    for t in tasks]})
            if rest == "csp/api/file/url":
                task = state.task("tm", account, q.get("id", ""))
                if task is None or not task.ready():
                    return self._json({"code": 404, "message": "文件不存在"})
                return self._json({"code": 0, "data": {"url": f"/tm/csp/download/{task.id}"}})
            if rest.startswith("csp/download/"):
                return self._file("tm", account, rest.rsplit("/", 1)[1])
            raise PortalError(404, f"no such tm api {rest}")

        def _jd_api(self, account, method, rest, q):
            if rest == "reportCenter/api/create" and method == "POST":
                try:
                    body = json.loads(self._body() or b"{}")
                except ValueError:
                    raise PortalError(400, "body must be JSON") from None
                params = {k: str(v) for k, v in body.items()}
                task = portal.new_task("jd", account, params, params.get("startDate", ""))
                return self._json({"success": True, "reportId": task.id})
            if rest == "reportCenter/api/myReports":
                tasks = [t for t in state.tasks.values() if t.platform == "jd" and t.account == account]
                return self._json({"success": True, "reports": [
                    {"reportId": t.id, "status": "DONE" if t.ready() else "PROCESSING",
                     "downloadUrl": f"/jd/reportCenter/download/{t.id}" if t.ready() else None}
                    for t in tasks]})
            if rest.startswith("reportCenter/download/"):
                return self._file("jd", account, rest.rsplit("/", 1)[1])
            raise PortalError(404, f"no such jd api {rest}")

        def _pdd_api(self, account, method, rest, q):
            if rest == "chats/csReportDetail/download":
                try:
                    start = _unix_to_day(q.get("starttime", ""))
                except ValueError:
                    raise PortalError(400, "starttime must be unix seconds") from None
                task = portal.new_task("pdd", account, q, start)
                return self._json({"success": True, "result": {
                    "taskId": task.id, "downloadUrl": f"/pdd/chats/csReportDetail/file/{task.id}"}})
            if rest == "chats/csReportDetail/status":
                task = state.task("pdd", account, q.get("taskId", ""))
                if task is None:
                    raise PortalError(404, "no such task")
                return self._json({"success": True, "result": {"ready": task.ready()}})
            if rest.startswith("chats/csReportDetail/file/"):
                return self._file("pdd", account, rest.rsplit("/", 1)[1])
            raise PortalError(404, f"no such pdd api {rest}")

        def _erp_api(self, account, method, rest, q):
            if rest == "api/export":
                task = portal.new_task("erp", account, q, q.get("from", ""))
                time.sleep(max(0.0, task.ready_at - time.time()))
                return self._send_report(task)
            raise PortalError(404, f"no such erp api {rest}")

    return Handler
