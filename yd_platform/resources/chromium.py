"""Chromium on dedicated worker threads, launched on first use and reused afterwards.

Playwright's sync API belongs to the thread that started it and keeps an asyncio loop
marked as running there for as long as it lives; kept on the caller's thread it would
break any later `asyncio.run` (Dagster uses it). So browser work runs on small daemon
worker threads, each with its own Playwright and Chromium: a collection borrows an idle
worker (the most recently used, whose browser is warm), and a crashed browser is
noticed (`is_connected`) and relaunched. Each merchant account gets a browser context
of its own (a batch reuses it for every download of that account), so accounts never
share cookies.
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

_local = threading.local()


def thread_browser(executable_path: str, headless: bool = True):
    """This worker thread's Chromium (launched now if missing, crashed or configured differently)."""
    key = (executable_path, headless)
    browser = getattr(_local, "browser", None)
    if browser is not None and getattr(_local, "key", None) == key and browser.is_connected():
        return browser
    _close_browser()
    if getattr(_local, "playwright", None) is None:
        from playwright.sync_api import sync_playwright

        _local.playwright = sync_playwright().start()
    _local.browser = _local.playwright.chromium.launch(
        executable_path=executable_path, headless=headless, args=CHROMIUM_ARGS
    )
    _local.key = key
    return _local.browser


@contextmanager
def cookieless_request() -> Iterator:
    """A fresh HTTP client of this worker thread's Playwright, without any cookies (for
    report links, which the back-ends hand out signed and their crawlers fetch bare)."""
    if getattr(_local, "playwright", None) is None:
        from playwright.sync_api import sync_playwright

        _local.playwright = sync_playwright().start()
    request = _local.playwright.request.new_context()
    try:
        yield request
    finally:
        request.dispose()


def _close_browser() -> None:
    browser = getattr(_local, "browser", None)
    _local.browser = None
    if browser is not None:
        try:
            browser.close()
        except Exception:  # noqa: BLE001 - a crashed browser cannot be closed cleanly
            pass


def close_thread_browser() -> None:
    """Close this thread's browser and Playwright driver."""
    _close_browser()
    playwright = getattr(_local, "playwright", None)
    _local.playwright = None
    if playwright is not None:
        try:
            playwright.stop()
        except Exception:  # noqa: BLE001
            pass


class _Worker(threading.Thread):
    def __init__(self, number: int):
        super().__init__(name=f"yd-browser-{number}", daemon=True)
        self.jobs: queue.Queue = queue.Queue()
        self.start()

    def run(self) -> None:
        while True:
            fn, future = self.jobs.get()
            if fn is None:
                close_thread_browser()
                future.set_result(None)
                return
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)


_idle: queue.LifoQueue = queue.LifoQueue()
_workers: list[_Worker] = []
_workers_lock = threading.Lock()


@contextmanager
def browser_worker() -> Iterator[Callable[..., T | None]]:
    """Borrow one browser worker thread for the block; yields `run(fn)`, which runs `fn`
    on that thread and returns (or raises) its result (`run(fn, wait=False)` only queues it).

    A browser context belongs to the thread that opened it, so an account's session
    that serves a whole batch of downloads is opened, used and closed through one
    `run`; the step's own thread stays free to record each result as it comes.
    """
    try:
        worker = _idle.get_nowait()
    except queue.Empty:
        with _workers_lock:
            worker = _Worker(len(_workers) + 1)
            _workers.append(worker)

    def run(fn: Callable[[], T], wait: bool = True) -> T | None:
        """`wait=False` queues `fn` and returns at once (for clean-up nobody waits on: the
        worker's next job runs after it anyway)."""
        future: Future = Future()
        worker.jobs.put((fn, future))
        return future.result() if wait else None

    try:
        yield run
    finally:
        _idle.put(worker)


def warm_up(executable_path: str, headless: bool = True) -> None:
    """Launch Chromium now on the worker the next `browser_worker` borrows, without waiting:
    a run that will download through it starts the browser while it still waits for its
    platform's pool, instead of after (a failed launch is raised again at first use)."""
    with browser_worker() as run:
        run(lambda: thread_browser(executable_path, headless), wait=False)


def in_browser_thread(fn: Callable[[], T]) -> T:
    """Run `fn` on an idle browser worker thread and return (or raise) its result."""
    with browser_worker() as run:
        return run(fn)


@atexit.register
def shutdown_browsers(timeout: float = 10.0) -> None:
    """Close every worker's browser (at exit, or when a test wants a clean slate)."""
    with _workers_lock:
        workers, _workers[:] = list(_workers), []
    while not _idle.empty():
        _idle.get_nowait()
    for worker in workers:
        done: Future = Future()
        worker.jobs.put((None, done))
        try:
            done.result(timeout=timeout)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
