"""An operator logs a merchant account in by hand, once, for the collectors to reuse.

Back-ends that ask for a captcha, QR code or SMS code stop the collectors
(`ManualLoginNeeded`). `yd-platform login <platform> <account>` opens the platform's
login page in a visible Chromium; the operator logs in as on any other day, and as soon
as the browser has left the login page the session is saved as the account's storage
state (owner-only file), which every later collection reuses until the back-end
expires it. Meanwhile the login holds the account's Dagster pool, as a collect step
does, so no collection drives the account while the operator logs it in.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from yd_platform.collect.errors import PermanentError, TransientError
from yd_platform.collect.platforms import collector_class
from yd_platform.collect.sessions import save_session
from yd_platform.instance.pools import (
    PoolBusy,
    PoolUse,
    account_pool,
    ensure_account_pool,
    holding_slot,
    pools_enforced,
)
from yd_platform.resources.chromium import in_browser_thread, thread_browser
from yd_platform.resources.merchant_backends import CollectorResource

log = logging.getLogger(__name__)
LOGIN_STEP = "yd-platform login"


@contextmanager
def _stopped_cleanly() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) end the login like Ctrl-C, so that the
    account's pool slot is given back; a slot held by a process that vanished would stay
    taken until an operator freed it on the UI's Concurrency page."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _account_held(instance: dg.DagsterInstance, platform: str, account: str, wait_seconds: float) -> Iterator[None]:
    if not pools_enforced(instance):
        log.warning("this instance's storage has no pools: collections may use the account meanwhile")
        yield
        return
    pool = account_pool(platform, account)
    ensure_account_pool(instance, pool)
    holder = f"{LOGIN_STEP} {platform} {account} (pid {os.getpid()} on {socket.gethostname()})"

    def tell(use: PoolUse) -> None:
        log.warning(f"waiting for {platform} account {account}: pool {pool} is held by run "
                    f"{', '.join(sorted(use.holders)) or '(being handed over)'}")

    try:
        with _stopped_cleanly(), holding_slot(instance, pool, holder, LOGIN_STEP, wait_seconds, on_wait=tell):
            yield
    except PoolBusy as busy:
        raise TransientError(f"{platform} account {account} is busy with a collection ({busy})") from None


def manual_login(platform: str, account: str, settings: CollectorResource, wait_seconds: float = 300.0,
                 headless: bool = False, operator: Callable | None = None, *,
                 instance: dg.DagsterInstance) -> Path:
    """Wait up to `wait_seconds` for a login by hand, then save the session; returns its file.

    The account's pool on `instance` is held meanwhile (waiting up to the settings'
    `lock_wait_seconds` for a running collection to finish). `operator(page)` acts on
    the opened login page in place of a person (rehearsals and tests); without it a
    person does, so the browser must be visible.
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

    with _account_held(instance, platform, account, settings.lock_wait_seconds):
        return in_browser_thread(log_in)
