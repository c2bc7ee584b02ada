"""An operator logs a merchant account in by hand, once, for the collectors to reuse.

Back-ends that ask for a captcha, QR code or SMS code stop the collectors
(`ManualLoginNeeded`). `yd-platform login <platform> <account>` opens the platform's
login page in a visible Chromium; the operator logs in as on any other day, and as soon
as the browser has left the login page the session is saved as the account's storage
state (owner-only file), which every later collection reuses until the back-end
expires it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from yd_platform.collect.browser import in_browser_thread, thread_browser
from yd_platform.collect.errors import PermanentError
from yd_platform.collect.registry import collector_class
from yd_platform.collect.sessions import account_lock, save_session
from yd_platform.collect.settings import CollectorResource


def manual_login(platform: str, account: str, settings: CollectorResource, wait_seconds: float = 300.0,
                 headless: bool = False, operator: Callable | None = None) -> Path:
    """Wait up to `wait_seconds` for a login by hand, then save the session; returns its file.

    `operator(page)` acts on the opened login page in place of a person (rehearsals and
    tests); without it a person does, so the browser must be visible.
    """
    collector = collector_class(platform)(settings)
    login_url = collector.login_url()

    def log_in() -> Path:
        from playwright.sync_api import Error as PlaywrightError

        try:
            browser = thread_browser(settings.executable_path, headless)
        except PlaywrightError as exc:
            raise PermanentError(
                f"could not open Chromium ({settings.executable_path}, headless={headless}) for the login: "
                f"{str(exc).splitlines()[0]}; a visible browser needs a desktop session (or xvfb-run)"
            ) from None
        context = browser.new_context(locale="zh-CN")
        try:
            page = context.new_page()
            page.goto(login_url)
            if operator is not None:
                operator(page)
            deadline = time.monotonic() + wait_seconds
            while collector.on_login_page(page):
                if time.monotonic() > deadline:
                    raise PermanentError(f"no login on {login_url} within {wait_seconds:.0f}s; "
                                         f"the {platform} session of account {account} was not saved")
                page.wait_for_timeout(500)
            if not collector.session_valid(page):
                raise PermanentError(f"the {platform} back-end at {collector.base} still sends account "
                                     f"{account} to its login page; the session was not saved")
            return save_session(platform, account, context.storage_state())
        except PlaywrightError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise PermanentError(f"login by hand on {login_url} did not finish: {reason}") from None
        finally:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the operator may have closed the window
                pass

    with account_lock(platform, account, settings.lock_wait_seconds):
        return in_browser_thread(log_in)
