"""The collector framework: one flow for every back-end, platforms fill in the report calls.

Flow of the collections of one merchant account (one dataset, any periods and shops of
the account); the raw asset's step runs it while holding its platform's pool and the
account's pool (`yd_platform.instance.pools`), the collector itself takes no lock:

1. open one browser context with the account's saved session (`AccountSession`) and
   check it once on the back-end's home page; if the back-end sends us to its login
   page, log in: with the account's password where the back-end's login can be
   automated (Tmall), else the run stops for `yd-platform login` (on the demo portal
   its demo password stands in for the operator). A captcha, QR code or SMS prompt
   stops at once (`ManualLoginNeeded`, no retry, with a screenshot);
2. for each period and shop, follow the dataset's back-end flow (`download_report`, per
   platform in `collect.platforms`) in that same context: API calls on the back-end's
   hosts, polling with a bounded wait, the file downloaded without cookies as the
   back-ends' links are. An answer saying the session expired logs in again, once;
3. verify each file (type, not HTML, not truncated, header with the dataset's columns).

Every request to the back-end (API call, file link, page) first waits for the
platform's shared pace (`yd_platform.instance.pace`, `requests_per_minute`).

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import Period
from yd_platform.collect.credentials import credentials
from yd_platform.collect.errors import (
    BadReportFile,
    CollectError,
    ManualLoginNeeded,
    PermanentError,
    SessionExpired,
    TransientError,
)
from yd_platform.collect.sessions import forget_session, load_session, save_session
from yd_platform.collect.verify import VerifiedReport, looks_like_html, verify_report
from yd_platform.deployment import yd_home
from yd_platform.resources.chromium import browser_worker, cookieless_request, thread_browser
from yd_platform.resources.merchant_backends import CollectorResource

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
    session_use: int = 1            # the how-manieth download of its account's browser session
    pace_wait_seconds: float = 0.0  # of `seconds`, spent waiting for the back-end's pace

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
                 log: logging.Logger | Any | None = None, pace: Callable[[], float] | None = None):
        self.settings = settings
        self.base = settings.base_url(self.platform)
        self.live = self.base.split("/")[0] == LIVE
        self.keep = keep or local_diagnostics
        self.log = log or logging.getLogger(f"yd_platform.collect.{self.platform}")
        self.pace = pace
        self.pace_waited = 0.0  # seconds spent waiting for the pace, in all

    def paced(self) -> None:
        """Wait for the back-end's shared pace before a request (no pace: at once)."""
        if self.pace is not None:
            self.pace_waited += self.pace()

    def goto(self, page, url: str):
        """Open a page of the back-end, in its pace."""
        self.paced()
        return page.goto(url)

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
        self.paced()
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
        """One attempt, in a browser session of its own. Retries are the asset's Dagster
        `RetryPolicy` (backoff and jitter, each attempt a step attempt in the UI);
        `attempt` only labels the diagnostics."""
        with self.session(job.account) as session:
            return session.collect(job, attempt)

    @contextmanager
    def session(self, account: str) -> Iterator[AccountSession]:
        """One browser session of `account` for the block: every `collect` in it reuses
        the same context, cookies and login. Its context is closed on the worker after
        the block without waiting for it, so a batch frees the account and goes on to the
        next one meanwhile (the next session on this worker opens after the close)."""
        with browser_worker() as run:
            session = AccountSession(self, account, run)
            try:
                yield session
            finally:
                run(session.close, wait=False)

    def session_valid(self, page) -> bool:
        resp = self.goto(page, self.url(self.home_path))
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
            self.goto(page, self.login_url())
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
        self.paced()
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
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
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


class AccountSession:
    """One merchant account's browser session, reused for every download of a batch.

    Opened on the first download: a browser context with the account's saved session,
    checked once on the back-end's home page (a login when it sends us to its login
    page). Later downloads go straight to the report calls, so a batch of a hundred
    periods costs one check and at most one login, not a hundred. A broken page or
    browser is dropped and the next download opens a fresh context. Lives on one
    browser worker thread (`run`), the one its context belongs to.
    """

    def __init__(self, collector: Collector, account: str, run: Callable[[Callable[[], Any]], Any]):
        self.collector = collector
        self.account = account
        self._run = run
        self._context = None
        self._page = None
        self._checked = False
        self.uses = 0
        self.logins = 0
        # the login failed in a way no other download of this account can get past
        # (a captcha, no automated login, a refused password): set to that error
        self.refused: CollectError | None = None

    def collect(self, job: CollectJob, attempt: int = 1) -> Collected:
        if job.account != self.account:
            raise ValueError(f"{job.label} is for account {job.account}, not {self.account}")
        started = time.monotonic()
        paced = self.collector.pace_waited
        self.uses += 1
        data, report, logins = self._run(lambda: self._collect(job, attempt))
        return Collected(data, report, round(time.monotonic() - started, 3), attempt, logins,
                         session_use=self.uses, pace_wait_seconds=round(self.collector.pace_waited - paced, 3))

    def _open(self) -> None:
        c = self.collector
        browser = thread_browser(c.settings.executable_path, c.settings.headless)
        self._context = browser.new_context(storage_state=load_session(c.platform, self.account),
                                            accept_downloads=True, locale="zh-CN")
        self._context.set_default_timeout(c.settings.timeout_seconds * 1000)
        self._page = self._context.new_page()
        self._checked = False

    def _log_in(self, job: CollectJob) -> None:
        try:
            self.collector.login(self._page, job)
        except CollectError as exc:
            if not exc.retryable:
                self.refused = exc
            raise
        self.logins += 1

    def _collect(self, job: CollectJob, attempt: int) -> tuple[bytes, VerifiedReport, int]:
        from playwright.sync_api import Error as PlaywrightError

        c = self.collector
        logins = self.logins
        try:
            if self._page is None:
                self._open()
            if not self._checked:
                if not c.session_valid(self._page):
                    self._log_in(job)
                self._checked = True
            try:
                data = c.download_report(self._context.request, job, page=self._page)
            except SessionExpired as expired:
                if self.logins > logins:
                    raise
                c.log.warning(f"{job.label}: {expired.args[0]}; logging in again")
                forget_session(c.platform, job.account)
                c.goto(self._page, c.login_url())
                try:
                    self._log_in(job)
                except ManualLoginNeeded as manual:
                    self.refused = ManualLoginNeeded(f"{manual.args[0]} ({expired.args[0]})")
                    raise self.refused from expired
                data = c.download_report(self._context.request, job, page=self._page)
            try:
                report = verify_report(data, job.ds, name=f"{job.label}: download")
            except CollectError as exc:
                exc.body = data
                raise
            return data, report, self.logins - logins
        except CollectError as exc:
            exc.diagnostics.update(c.keep_diagnostics(self._page, job, attempt, exc.body))
            if isinstance(exc, SessionExpired):
                self._checked = False
            raise
        except PlaywrightError as exc:
            message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            diagnostics = c.keep_diagnostics(self._page, job, attempt, None)
            self.close()
            raise TransientError(f"{job.label}: browser error: {message}", diagnostics=diagnostics) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. an answer of unexpected shape
            diagnostics = c.keep_diagnostics(self._page, job, attempt, None)
            self.close()
            raise PermanentError(f"{job.label}: unexpected {exc.__class__.__name__}: {exc}",
                                 diagnostics=diagnostics) from exc

    def close(self) -> None:
        """Close the context (on the session's browser thread); the next download opens one."""
        context, self._context, self._page = self._context, None, None
        if context is not None:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - a crashed browser takes its contexts along
                pass


def unix_bounds(period: Period, tz: str) -> tuple[int, int]:
    """First and last second of the period in the back-end's timezone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    start = datetime.combine(period.start, datetime.min.time(), zone)
    end = datetime.combine(period.end, datetime.max.time().replace(microsecond=0), zone)
    return int(start.timestamp()), int(end.timestamp())

