"""One headless Chromium for the whole test session, driven from a thread of its own.

Playwright's sync API marks an asyncio loop as running on the thread that started it for
as long as it lives, and Dagster calls `asyncio.run` (sensor and automation evaluation):
a browser started on pytest's thread would break every later test that evaluates a
sensor. So Playwright lives on one worker thread and tests hold `OnBrowserThread`
proxies: every attribute read and call is carried out on that thread and Playwright
objects come back wrapped the same way, so a test reads like plain Playwright code.
A browser that died (crash, killed process) is relaunched for the next context.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# a switch Chromium ignores, so a test that crashes the collectors' browsers on purpose
# can tell this one apart and leave it alone (`is_shared_browser`)
SHARED_BROWSER_SWITCH = "--yd-platform-tests-shared-browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", SHARED_BROWSER_SWITCH]


def is_shared_browser(cmdline: list[str]) -> bool:
    """Whether a process with this command line is (a part of) the session's shared Chromium."""
    return SHARED_BROWSER_SWITCH in cmdline


class BrowserThread:
    """A daemon thread that owns Playwright; `call` runs a function there and returns its result."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="playwright", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    future.set_exception(exc)

    def call(self, fn: Callable[[], Any]) -> Any:
        if threading.current_thread() is self._thread:
            return fn()
        future: Future = Future()
        self._jobs.put((fn, future))
        return future.result()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)


def _is_playwright_object(value: Any) -> bool:
    return type(value).__module__.startswith("playwright.")


class OnBrowserThread:
    """A Playwright object whose every use happens on the browser thread."""

    __slots__ = ("_target", "_thread")

    def __init__(self, target: Any, thread: BrowserThread) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_thread", thread)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._wrap(item) for item in value]
        if _is_playwright_object(value):
            return OnBrowserThread(value, self._thread)
        return value

    def __getattr__(self, name: str) -> Any:
        value = self._thread.call(lambda: getattr(self._target, name))
        if callable(value) and _is_playwright_object(getattr(value, "__self__", None)):
            def on_thread(*args: Any, **kwargs: Any) -> Any:
                args = tuple(_unwrap(arg) for arg in args)
                kwargs = {key: _unwrap(arg) for key, arg in kwargs.items()}
                return self._wrap(self._thread.call(lambda: value(*args, **kwargs)))

            return on_thread
        return self._wrap(value)

    def __repr__(self) -> str:
        return f"OnBrowserThread({self._thread.call(lambda: repr(self._target))})"


def _unwrap(value: Any) -> Any:
    if isinstance(value, OnBrowserThread):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


class SharedChromium:
    """The session's Chromium: `new_context` hands out a fresh context (cookies never shared
    between tests), relaunching the browser first if it is no longer connected."""

    def __init__(self) -> None:
        self._thread = BrowserThread()
        self._playwright = None
        self._browser = None

    def _connected_browser(self):
        if self._browser is None or not self._browser.is_connected():
            if self._playwright is None:
                from playwright.sync_api import sync_playwright

                self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                             args=CHROMIUM_ARGS)
        return self._browser

    def new_context(self, **options: Any) -> OnBrowserThread:
        context = self._thread.call(lambda: self._connected_browser().new_context(**options))
        return OnBrowserThread(context, self._thread)

    def close(self) -> None:
        def stop() -> None:
            try:
                if self._browser is not None:
                    self._browser.close()
            finally:
                if self._playwright is not None:
                    self._playwright.stop()

        self._thread.call(stop)
        self._thread.stop()
