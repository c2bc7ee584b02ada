"""The collector framework: one flow for every back-end, platforms fill in the report calls.

Flow of one collection (one dataset, period and shop):

1. take the account's lock (one collection per merchant account at a time) and one of
   the platform's slots (at most `max_parallel` collections per platform);
2. open a browser context with the account's saved session; if the back-end sends us
   to its login page, log in: with the account's password where the back-end's login
   can be automated (Tmall), else the run stops for `yd-platform login` (on the demo
   portal its demo password stands in for the operator). A captcha, QR code or SMS
   prompt stops at once (`ManualLoginNeeded`, no retry, with a screenshot);
3. follow the dataset's back-end flow (`download_report`, per platform in
   `collect.platforms`): API calls on the back-end's hosts, polling with a bounded
   wait, the file downloaded without cookies as the back-ends' links are;
4. verify the file (type, not HTML, not truncated, header with the dataset's columns).

A transient failure raises `TransientError`; the raw asset's `RetryPolicy` runs the step
again (exponential backoff plus jitter). Every failed attempt keeps a screenshot and the
page HTML (and the offending response) through the diagnostics sink, and the error names
where.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import Period
from yd_platform.collect.browser import cookieless_request, in_browser_thread, thread_browser
from yd_platform.collect.errors import (
    BadReportFile,
    CollectError,
    ManualLoginNeeded,
    PermanentError,
    SessionExpired,
    TransientError,
)
from yd_platform.collect.sessions import account_lock, forget_session, load_session, platform_slot, save_session
from yd_platform.collect.settings import CollectorResource, credentials
from yd_platform.collect.verify import VerifiedReport, looks_like_html, verify_report
from yd_platform.settings import yd_home

# Anything a robot cannot answer: captcha images/inputs, sliders (Taobao's `nc_1_n1z`,
# the baxia dialog), QR-code logins, SMS codes.
CHALLENGE_SELECTORS = (
    "#captcha", "#captcha-image", ".captcha", "[name=captcha]", "iframe[src*=captcha]",
    "#nc_1_n1z", ".nc-container", "#baxia-dialog-content",
    "#qrcode", ".qrcode", ".qr-code", "img[alt*=二维码]", "#sms-code", "[name=smsCode]",
)

LIVE = "live"
"""YD_PORTAL_URL (or YD_PORTAL_URL_<PLATFORM>) value that means the real merchant hosts."""

DiagnosticsSink = Callable[[str, bytes, str], str]
"""(object key, data, content type) -> the location shown to operators."""

# Statuses that say "not now" rather than "no": a busy gateway, rate limiting.
TRANSIENT_STATUSES = (408, 425, 429)


@dataclass(frozen=True)
class CollectJob:
    ds: DatasetSpec
    period: Period
    shop: str
    account: str

    @property
    def label(self) -> str:
        return f"{self.ds.slug} {self.period.label} shop {self.shop}"


@dataclass(frozen=True)
class Collected:
    data: bytes
    report: VerifiedReport
    seconds: float
    attempts: int
    logins: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def local_diagnostics(key: str, data: bytes, content_type: str) -> str:
    """Default sink: files under YD_HOME (the stage sends them to the object store instead)."""
    path = yd_home() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


class Collector:
    """Base class of the platform collectors; subclasses implement the report calls.

    URLs name the real host (`mms.pinduoduo.com`, `sycm.taobao.com`, ...). Against the
    real back-ends (`YD_PORTAL_URL=live`) that is the URL; against a portal (the demo)
    it becomes `<portal>/<platform>/<host>/<path>`, which the demo portal serves.
    """

    platform: str = ""
    host = ""                     # the back-end's main host
    home_path = ""                # a page that sends a logged-out browser to the login page
    login_host = ""
    login_path = ""
    # The login form: user field, password field, submit button.
    login_form = ("#username", "#password", "#login")
    password_login = False        # True: the back-end's login may be automated with a password
    html_means_expired = False    # True: an HTML page where JSON belongs is an expired session

    def __init__(self, settings: CollectorResource, keep: DiagnosticsSink | None = None,
                 log: logging.Logger | Any | None = None, max_parallel: int = 0):
        self.settings = settings
        self.max_parallel = max_parallel  # collections of this platform at once (0: no limit)
        self.base = settings.base_url(self.platform)
        self.live = self.base.split("/")[0] == LIVE
        self.keep = keep or local_diagnostics
        self.log = log or logging.getLogger(f"yd_platform.collect.{self.platform}")

    # -- per-platform hooks -------------------------------------------------
    def request_report(self, api, job: CollectJob) -> dict:
        """Ask the back-end for the report; returns whatever `report_ready` needs."""
        raise NotImplementedError

    def report_ready(self, api, job: CollectJob, handle: dict) -> str | None:
        """The file URL once the report is generated, else None."""
        raise NotImplementedError

    def check_body(self, body: Any, url: str) -> None:
        """Raise for an error inside a 200 JSON answer (platform conventions)."""

    def download_report(self, api, job: CollectJob, page=None) -> bytes:
        handle = self.request_report(api, job)
        url = self.wait_ready(api, job, handle)
        return self.fetch_file(api, url)

    # -- helpers for platforms ---------------------------------------------
    def url(self, path: str, host: str | None = None) -> str:
        """`path` on `host` (default: the platform's main host); absolute URLs stay as they are."""
        if path.startswith(("http://", "https://")):
            return path
        host = host or self.host
        if self.live:
            return f"https://{host}/{path.lstrip('/')}"
        return f"{self.base}/{host}/{path.lstrip('/')}"

    def login_url(self) -> str:
        return self.url(self.login_path, self.login_host or self.host)

    def call(self, api, path: str, method: str = "GET", params: dict | None = None, data: Any = None,
             host: str | None = None, headers: dict | None = None, form: dict | None = None):
        url = self.url(path, host)
        resp = api.fetch(url, method=method, params=params, data=data, form=form, headers=headers,
                         timeout=self.settings.timeout_seconds * 1000)
        if self.is_login_url(resp.url):
            raise SessionExpired(f"{self.platform} session expired: {path} was sent to the login page "
                                 f"({urlsplit(resp.url).path})")
        status = resp.status
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise TransientError(f"{self.platform} back-end answered {status} for {path}", body=resp.body())
        if status in (401, 403):
            raise SessionExpired(f"{self.platform} session expired ({status} for {path})")
        if status >= 400:
            raise PermanentError(f"{self.platform} back-end refused {path}: {status} {resp.text()[:200]}")
        return resp

    def get_json(self, api, path: str, method: str = "GET", params: dict | None = None, data: Any = None,
                 host: str | None = None, headers: dict | None = None, form: dict | None = None):
        resp = self.call(api, path, method, params, data, host=host, headers=headers, form=form)
        try:
            body = resp.json()
        except Exception:  # noqa: BLE001 - any non-JSON answer means the API is not itself
            raw = resp.body()
            if self.html_means_expired and looks_like_html(raw):
                raise SessionExpired(f"{self.platform} session expired: {path} answered an HTML page "
                                     f"instead of JSON (the back-end's login page)", body=raw) from None
            raise TransientError(f"{self.platform} {path}: answer is not JSON", body=raw) from None
        self.check_body(body, path)
        return body

    def fetch_file(self, api, url: str) -> bytes:
        """Download a report link. Links on the back-ends' file hosts are fetched without
        the session's cookies, as the back-ends hand them out (signed, cookie-free)."""
        if url.startswith(("http://", "https://")):
            with cookieless_request() as bare:
                resp = self.call(bare, url)
                data = resp.body()
        else:
            resp = self.call(api, url)
            data = resp.body()
        if "json" in resp.headers.get("content-type", ""):
            self.refuse_json_file(url, data)
        expected = resp.headers.get("content-length")
        if expected and expected.isdigit() and int(expected) != len(data):
            raise BadReportFile(f"download cut off: {len(data)} of {expected} bytes", body=data)
        return data

    def refuse_json_file(self, url: str, data: bytes) -> None:
        """A JSON answer where the file should be is the back-end saying no (tm answers an
        expired session this way): raise what it says, else that there is no file."""
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        if body is not None:
            self.check_body(body, url)
        text = data[:200].decode("utf-8", "replace")
        raise BadReportFile(f"{self.platform} answered JSON instead of the report file for {url}: {text}", body=data)

    def wait_ready(self, api, job: CollectJob, handle: dict) -> str:
        return self.wait_for(job, lambda: self.report_ready(api, job, handle))

    def wait_for(self, job: CollectJob, check: Callable[[], Any], what: str = "report") -> Any:
        """Poll `check` until it returns something, for at most `report_wait_seconds`:
        quickly at first (small reports are ready in a second), then every `poll_seconds`."""
        deadline = time.monotonic() + self.settings.report_wait_seconds
        pause = min(0.25, self.settings.poll_seconds)
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() + pause > deadline:
                raise TransientError(
                    f"{job.label}: {what} not ready after {self.settings.report_wait_seconds:.0f}s"
                )
            time.sleep(pause)
            pause = min(pause * 2, self.settings.poll_seconds)

    # -- the flow -------------------------------------------------------------
    def collect(self, job: CollectJob, attempt: int = 1) -> Collected:
        """One attempt. Retries are the asset's Dagster `RetryPolicy` (backoff and jitter,
        each attempt a step attempt in the UI); `attempt` only labels the diagnostics."""
        started = time.monotonic()
        wait = self.settings.lock_wait_seconds
        with account_lock(self.platform, job.account, wait), platform_slot(self.platform, self.max_parallel, wait):
            data, report, logins = in_browser_thread(lambda: self._attempt(job, attempt))
            return Collected(data, report, round(time.monotonic() - started, 3), attempt, logins)

    def _attempt(self, job: CollectJob, attempt: int) -> tuple[bytes, VerifiedReport, int]:
        from playwright.sync_api import Error as PlaywrightError

        page = context = None
        logins = 0
        try:
            browser = thread_browser(self.settings.executable_path, self.settings.headless)
            context = browser.new_context(storage_state=load_session(self.platform, job.account),
                                          accept_downloads=True, locale="zh-CN")
            context.set_default_timeout(self.settings.timeout_seconds * 1000)
            page = context.new_page()
            if not self.session_valid(page):
                self.login(page, job)
                logins += 1
            try:
                data = self.download_report(context.request, job, page=page)
            except SessionExpired as expired:
                if logins:
                    raise
                self.log.warning(f"{job.label}: {expired.args[0]}; logging in again")
                forget_session(self.platform, job.account)
                page.goto(self.login_url())
                try:
                    self.login(page, job)
                except ManualLoginNeeded as manual:
                    raise ManualLoginNeeded(f"{manual.args[0]} ({expired.args[0]})") from expired
                logins += 1
                data = self.download_report(context.request, job, page=page)
            try:
                report = verify_report(data, job.ds, name=f"{job.label}: download")
            except CollectError as exc:
                exc.body = data
                raise
            return data, report, logins
        except CollectError as exc:
            exc.diagnostics.update(self.keep_diagnostics(page, job, attempt, exc.body))
            raise
        except PlaywrightError as exc:
            message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise TransientError(f"{job.label}: browser error: {message}",
                                 diagnostics=self.keep_diagnostics(page, job, attempt, None)) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. an answer of unexpected shape
            raise PermanentError(f"{job.label}: unexpected {exc.__class__.__name__}: {exc}",
                                 diagnostics=self.keep_diagnostics(page, job, attempt, None)) from exc
        finally:
            if context is not None:
                try:
                    context.close()
                except Exception:  # noqa: BLE001 - a crashed browser takes its contexts along
                    pass

    def session_valid(self, page) -> bool:
        resp = page.goto(self.url(self.home_path))
        if resp is not None and resp.status >= 500:
            raise TransientError(f"{self.platform} home page answered {resp.status}")
        return not self.on_login_page(page)

    @staticmethod
    def is_login_url(url: str) -> bool:
        """The back-ends (and the old crawlers' checks) send logged-out requests to a URL
        with `login` in its path (login.taobao.com/member/login.jhtml, /login/, login.aspx)."""
        return "login" in urlsplit(url).path.lower()

    def on_login_page(self, page) -> bool:
        return self.is_login_url(page.url)

    def _challenge(self, page, job: CollectJob, when: str) -> None:
        if page.locator(", ".join(CHALLENGE_SELECTORS)).count():
            raise ManualLoginNeeded(
                f"manual login needed for shop {job.shop} ({self.platform} account {job.account}): "
                f"{when} the back-end asks for a captcha, QR code or SMS code. Log in by hand with "
                f"`yd-platform login {self.platform} {job.account}`, or drop the report into "
                f"landing/{job.ds.platform}/{job.ds.code}/ as {job.shop}_{job.period.key}.xlsx"
            )

    def login(self, page, job: CollectJob) -> None:
        if not self.on_login_page(page):
            page.goto(self.login_url())
        self._challenge(page, job, "on the login page")
        if not (self.password_login or self.settings.demo_login):
            raise ManualLoginNeeded(
                f"manual login needed for shop {job.shop} ({self.platform} account {job.account}): the "
                f"{self.platform} back-end has no automated login and the saved session is missing or "
                f"expired. Log in by hand with `yd-platform login {self.platform} {job.account}`, or drop "
                f"the report into landing/{job.ds.platform}/{job.ds.code}/ as {job.shop}_{job.period.key}.xlsx"
            )
        user, password = credentials(self.platform, job.account, self.settings.demo_login)
        self.log.info(f"{job.label}: logging in {self.platform} account {job.account}")
        user_field, password_field, submit = self.login_form
        self._fill_secret(page, user_field, user, job)
        self._fill_secret(page, password_field, password, job)
        with page.expect_navigation():
            page.click(submit)
        self._challenge(page, job, "after the password")
        if self.on_login_page(page):
            error = page.locator("#login-error")
            reason = error.inner_text() if error.count() else "still on the login page"
            raise PermanentError(f"login rejected for {self.platform} account {job.account} "
                                 f"(shop {job.shop}): {reason}")
        save_session(self.platform, job.account, page.context.storage_state())

    def _fill_secret(self, page, selector: str, value: str, job: CollectJob) -> None:
        """Type a credential; a failure is reported without Playwright's call log, which
        repeats the typed value (and would carry it into the run's event log)."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            page.fill(selector, value)
            return
        except PlaywrightError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise TransientError(f"{job.label}: could not fill {selector} on the {self.platform} login page "
                             f"({page.url}): {reason}")

    def keep_diagnostics(self, page, job: CollectJob, attempt: int, body: bytes | None) -> dict[str, str]:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        base = f"diagnostics/{self.platform}/{job.ds.code}/{job.period.key}/{job.shop}/{stamp}-attempt{attempt}"
        kept: dict[str, str] = {}
        if page is not None:
            for name, ext, ctype, grab in (
                ("screenshot", "png", "image/png", lambda: page.screenshot(full_page=True, timeout=10_000)),
                ("html", "html", "text/html", lambda: page.content().encode()),
            ):
                try:
                    kept[name] = self.keep(f"{base}.{ext}", grab(), ctype)
                except Exception as exc:  # noqa: BLE001 - keep what can be kept
                    self.log.warning(f"{job.label}: could not keep the {name}: {exc}")
        if body:
            ext = "html" if looks_like_html(body) else "bin"
            kept["response"] = self.keep(f"{base}-response.{ext}", body, "application/octet-stream")
        return kept


def unix_bounds(period: Period, tz: str) -> tuple[int, int]:
    """First and last second of the period in the back-end's timezone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    start = datetime.combine(period.start, datetime.min.time(), zone)
    end = datetime.combine(period.end, datetime.max.time().replace(microsecond=0), zone)
    return int(start.timestamp()), int(end.timestamp())

