"""What every demo back-end has: login page, session cookie, pages behind the login,
API routes, signed cookie-free file links, and its own answer to an expired session."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from yd_platform.catalog import Catalog, DatasetSpec, ShopSpec
from yd_platform.catalog.periods import Period
from yd_platform.demo.data import report_xlsx
from yd_platform.demo.http import Exchange, PortalError, Reply, file_reply, html_reply, redirect
from yd_platform.demo.portal_state import PortalState, ReportTask

Route = Callable[[Exchange], Reply]
ZONE = ZoneInfo("Asia/Shanghai")

ERROR_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>系统繁忙</title></head>"
    "<body><h1>系统繁忙，请稍后再试</h1></body></html>"
)


def captcha_image(code: str) -> str:
    """The code as an SVG image (a data URL): readable by a person, not by the page's text."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='96' height='32'>"
        "<rect width='96' height='32' fill='#eef'/><path d='M0 20 L96 8' stroke='#99a'/>"
        f"<text x='14' y='23' font-family='monospace' font-size='20' fill='#334'>{code}</text></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def unix_day(value) -> date:
    """A unix-seconds bound read in the back-end's timezone."""
    try:
        return datetime.fromtimestamp(int(value), ZONE).date()
    except (TypeError, ValueError, OverflowError):
        raise PortalError(400, f"{value!r} is not unix seconds") from None


def ymd_day(value: str, name: str) -> date:
    """A `YYYYMMDD` date parameter (Tmall); anything else is refused."""
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise PortalError(400, f"{name} must be YYYYMMDD, got {value!r}") from None


class Backend:
    platform = ""
    title = ""
    session_cookie = ""
    extra_cookies: tuple[str, ...] = ()  # further cookies the login sets (names as the real one)
    login_host = ""
    login_path = ""
    taobao_login = False                 # the login form of login.taobao.com, else a plain form
    home = ("", "")                      # (host, path) the login sends people to
    file_host = ""                       # host of the signed, cookie-free report links

    def __init__(self, catalog: Catalog, state: PortalState):
        self.catalog = catalog
        self.state = state

    # -- what a platform declares ---------------------------------------------------
    def pages(self) -> dict[tuple[str, str], Route]:
        """(host, path) -> page behind the login."""
        return {self.home: self.home_page}

    def routes(self) -> dict[tuple[str, str, str], Route]:
        """(method, host, path) -> API call that needs the session."""
        return {}

    def expired(self, ex: Exchange) -> Reply:
        """The back-end's answer to an API call without a valid session."""
        return self.to_login(ex)

    # -- shared behaviour -------------------------------------------------------------
    def to_login(self, ex: Exchange) -> Reply:
        back = quote(ex.url(ex.host, ex.path), safe="")
        return redirect(f"{ex.url(self.login_host, self.login_path)}?ReturnUrl={back}")

    def home_page(self, ex: Exchange) -> Reply:
        return html_reply(self.page(f"<div id='account'>{escape(ex.account or '')}</div><p>欢迎使用{self.title}</p>"))

    def page(self, body: str, title: str = "") -> str:
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title or self.title}</title></head>"
                f"<body><h1>{self.title}</h1>{body}</body></html>")

    def login_page(self, captcha: str | None, error: str = "") -> str:
        challenge = (
            '<div class="captcha"><div id="nc_1_n1z" class="nc-container">请按住滑块，拖动到最右边</div>'
            f'<img id="captcha-image" alt="验证码" src="{captcha_image(captcha)}">'
            '<input id="captcha" name="captcha" placeholder="请输入验证码"></div>' if captcha else ""
        )
        err = f'<p id="login-error" class="error">{escape(error)}</p>' if error else ""
        if self.taobao_login:
            fields = ("<input id='fm-login-id' name='fm-login-id' placeholder='账号名/邮箱/手机号'>"
                      "<input id='fm-login-password' name='fm-login-password' type='password' placeholder='请输入登录密码'>"
                      f"{challenge}<button type='submit' class='fm-button fm-submit password-login'>登录</button>")
        else:
            fields = ("<input id='username' name='username' placeholder='账号'>"
                      "<input id='password' name='password' type='password' placeholder='密码'>"
                      f"{challenge}<button id='login' type='submit'>登录</button>")
        return self.page(f"{err}<form id='login-form' method='post'>{fields}</form>", f"{self.title} - 登录")

    def login_fields(self, form: dict[str, str]) -> tuple[str, str]:
        if self.taobao_login:
            return form.get("fm-login-id", ""), form.get("fm-login-password", "")
        return form.get("username", ""), form.get("password", "")

    def shop_of(self, account: str) -> ShopSpec:
        """The shop a logged-in account belongs to (the real back-ends know no shop parameter)."""
        shops = self.catalog.platforms[self.platform].shops
        return next((s for s in shops if s.login_account == account), ShopSpec(id=account, name=account))

    def dataset(self, flow: str, span_days: int | None = None) -> DatasetSpec:
        """The catalog dataset served by `flow` (for several, the one whose cadence fits the span)."""
        found = [ds for ds in self.catalog.platforms[self.platform].datasets.values() if ds.report.get("flow") == flow]
        if not found:
            raise PortalError(404, f"the demo {self.platform} back-end has no {flow} report")
        if span_days is not None and len(found) > 1:
            cadence = "daily" if span_days == 1 else "weekly" if span_days == 7 else "monthly"
            found = [ds for ds in found if ds.cadence.value == cadence] or found
        return found[0]

    def new_task(self, account: str, ds: DatasetSpec, start: date, end: date, name: str = "",
                 ready_now: bool = False) -> ReportTask:
        key = Period(start, end, ds.cadence).key
        task = self.state.new_task(self.platform, account, self.shop_of(account).id, ds.code, key, name)
        if ready_now:
            task.ready_at = task.created
        return task

    def file_link(self, ex: Exchange, task: ReportTask) -> str:
        sig = self.state._sign(f"file.{self.platform}.{task.id}")
        return ex.url(self.file_host, f"download?id={task.id}&sig={sig}")

    def download(self, ex: Exchange) -> Reply:
        """A signed link: served without any session, as the back-ends' file hosts do."""
        task_id, sig = ex.need(ex.query, "id", "sig")
        task = self.state.task(self.platform, None, task_id)
        if task is None or sig != self.state._sign(f"file.{self.platform}.{task_id}"):
            raise PortalError(403, "link expired or forged")
        return self.send_report(task)

    def send_report(self, task: ReportTask) -> Reply:
        if not task.ready():
            raise PortalError(409, "report not ready")
        if self.state.faults.html_error or f"{task.period_key}|{task.shop}" in self.state.faults.bad_reports:
            return html_reply(ERROR_PAGE)
        ds = self.catalog.platforms[self.platform].datasets[task.dataset]
        data = report_xlsx(ds, task.shop, task.period_key)
        if self.state.faults.truncate:
            data = data[: len(data) // 2]
        self.state.finish_task(task)
        return file_reply(data, f"{task.name or task.dataset}_{task.period_key}.xlsx")
