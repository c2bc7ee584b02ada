"""Helpers for tests that start real servers or wait for something to happen: a free
loopback port, waiting for an event with a generous deadline, stopping a server, the end
of its logs.

Waits are on events (poll a condition until it holds), never fixed sleeps: the machine
running the tests is shared and loaded, so the deadlines are there only to end a test
that would otherwise hang, and say what never happened.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WORKSPACE = REPO / "workspace.yaml"

# Longest wait for something a test waits for (a server answering, a run reaching a
# state); far beyond what it takes on an idle machine.
EVENT_DEADLINE_SECONDS = 600.0


def _ended(worker: subprocess.Popen | threading.Thread) -> str | None:
    if isinstance(worker, threading.Thread):
        return None if worker.is_alive() else f"thread {worker.name} ended"
    return None if worker.poll() is None else f"{worker.args[0]} exited with {worker.returncode}"


def wait_until(condition: Callable[[], T], what: str, timeout: float = EVENT_DEADLINE_SECONDS,
               interval: float = 0.5, proc: subprocess.Popen | threading.Thread | None = None,
               details: Callable[[], str] | None = None) -> T:
    """Poll `condition()` until it returns something true and return that.

    Fails the test naming `what` when `timeout` seconds pass or `proc` (the process or
    thread that should make it happen) ends first; `details()` is added to the message.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        ended = _ended(proc) if proc is not None else None
        if ended or time.monotonic() > deadline:
            extra = f"\n{details()}" if details else ""
            raise AssertionError(f"{what} did not happen ({ended or f'{timeout:.0f}s passed'}){extra}")
        time.sleep(interval)


def let_children_stop_on_sigterm() -> None:
    """Keep SIGTERM deliverable to the processes the tests start.

    A test process started in the background by a non-interactive shell (as CI runners
    start their jobs) inherits SIGINT ignored. Each run Dagster executes in process maps
    SIGTERM to SIGINT's handler, so the test process would then ignore SIGTERM as well,
    and every process it starts afterwards inherits that (an ignored signal stays ignored
    across exec): `terminate()` would no longer stop a server. Python's own SIGINT
    handler in place of "ignore" keeps both signals deliverable.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(proc: subprocess.Popen, wait: float = 30) -> None:
    """Terminate `proc`, killing it when it does not exit within `wait` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(wait)


def start_group(cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """Start `cmd` in a session of its own, output to `log`, so `stop_group` ends it with
    every child (code servers, run workers)."""
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_webserver(env: dict[str, str], port: int, logs: Path) -> subprocess.Popen:
    """`dagster-webserver` over the repository's workspace on 127.0.0.1:`port`, output to
    `logs`/webserver.log (stop it with `stop_group`)."""
    return start_group([str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                        "-w", str(WORKSPACE)], env, logs / "webserver.log", cwd=REPO)


def start_daemon(env: dict[str, str], logs: Path) -> subprocess.Popen:
    """`dagster-daemon` over the repository's workspace, output to `logs`/daemon.log."""
    return start_group([str(VENV_BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)], env, logs / "daemon.log",
                       cwd=REPO)


def migrate_instance(env: dict[str, str], logs: Path) -> None:
    """`dagster instance migrate` on the instance of `env`'s DAGSTER_HOME, output to
    `logs`/migrate.log, and wait for it to end: its storage is created and migrated once,
    before a webserver and a daemon open it together (each would otherwise create and
    migrate the same tables at the same moment)."""
    log = logs / "migrate.log"
    with log.open("wb") as out:
        done = subprocess.run([str(VENV_BIN / "dagster"), "instance", "migrate"], cwd=REPO, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=EVENT_DEADLINE_SECONDS)
    if done.returncode != 0:
        raise AssertionError(f"dagster instance migrate exited with {done.returncode}:\n{log_tail(logs)}")


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL what is still there after 20 s."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(folder: Path, chars: int = 3000) -> str:
    """The last `chars` characters of every `*.log` file in `folder`, each under its name:
    what a failing test shows of the servers it started."""
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
                     for path in sorted(folder.glob("*.log")))


def answers(url: str) -> bool:
    """Whether `url` answers 200 right now."""
    try:
        return requests.get(url, timeout=10).ok
    except requests.RequestException:
        return False


def wait_http(url: str, proc: subprocess.Popen, timeout: float = EVENT_DEADLINE_SECONDS) -> None:
    """Poll `url` until it answers 200; fail early when `proc` exits."""
    try:
        wait_until(lambda: answers(url), f"{url} answering", timeout, interval=1, proc=proc)
    except AssertionError as exc:
        raise RuntimeError(str(exc)) from None
