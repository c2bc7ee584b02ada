"""The Dagster webserver and daemon of the embedded default, as one stoppable unit.

`dagster dev` runs the webserver, the daemon and the code server; the daemon starts a
process per run. They all live in one process group, so stopping `up` (Ctrl-C, SIGTERM)
asks `dagster dev` to shut down and then ends whatever is left of the group: nothing
keeps the port or the SQLite files after `up` returns.

What these processes print (daemon ticks, every run's event log, uvicorn's request
lines) goes to log files under YD_HOME/logs; the operator's console shows what `up`
says it started and submitted, and where those logs are.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

GRACE_SECONDS = 6.0
# The embedded default shares a laptop with Chromium and Spark: give the code server more
# than Dagster's 60 s to answer before a run launch counts as failed.
GRPC_TIMEOUT_SECONDS = "300"
KILL_WAIT_SECONDS = 3.0
LOCATION_QUERY = '{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus ' \
                 'locationOrLoadError { __typename ... on PythonError { message } } } } } }'


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops `up` the way Ctrl-C does."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


class StartupError(RuntimeError):
    """The webserver or its code location did not come up; the message says which."""


def log_file(path: Path, what: str):
    """`path` opened for appending a process's output, after a line saying what starts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = path.open("ab")
    out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S %z')} {what}\n".encode())
    out.flush()
    return out


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file (empty when there is none)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class DagsterServices:
    """`dagster dev` in a process group of its own. Its output (every daemon tick, every
    run's event log) goes to `log_path`, not the operator's console."""

    def __init__(self, host: str, port: str, target: list[str], log_path: Path):
        self.url = f"http://{host}:{port}"
        self.log_path = log_path
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", host, "-p", port, *target]
        env = {"DAGSTER_GRPC_TIMEOUT_SECONDS": GRPC_TIMEOUT_SECONDS, **os.environ, "PYTHONUNBUFFERED": "1"}
        self._log = log_file(log_path, f"dagster dev on {self.url}")
        # A session of its own: the terminal's Ctrl-C reaches `up` only, which then
        # stops the group in order instead of every process at once.
        self.proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def _location_state(self) -> tuple[str, str]:
        body = json.dumps({"query": LOCATION_QUERY}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            entries = json.load(resp)["data"]["workspaceOrError"].get("locationEntries") or []
        if not entries:
            return "LOADING", ""
        entry = entries[0]
        loaded = entry.get("locationOrLoadError") or {}
        return entry["loadStatus"], loaded.get("message", "") if loaded.get("__typename") == "PythonError" else ""

    def wait_ready(self, timeout: float) -> None:
        """Until the webserver answers and the code location is loaded."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise StartupError(f"dagster dev exited with code {self.proc.returncode} before {self.url} came up; "
                                   f"the end of {self.log_path}:\n{log_tail(self.log_path)}")
            try:
                status, error = self._location_state()
                if error:
                    raise StartupError(f"the code location failed to load:\n{error}")
                if status == "LOADED":
                    return
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise StartupError(f"{self.url} did not load the code location within {timeout:.0f}s; "
                                   f"the end of {self.log_path}:\n{log_tail(self.log_path)}")
            time.sleep(1.0)

    def wait(self) -> int:
        return self.proc.wait()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Ask `dagster dev` to shut down, then end what is left of its process group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGTERM)
        time.sleep(0.5)
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(KILL_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


def start_api(host: str, port: int, dagster_url: str, log_path: Path) -> subprocess.Popen:
    """`yd-platform api` beside the UI, talking to this webserver; its output (uvicorn's
    lines, one per request) goes to `log_path`."""
    env = {**os.environ, "YD_UI_URL": dagster_url, "PYTHONUNBUFFERED": "1"}
    with log_file(log_path, f"yd-platform api on {host}:{port}") as out:
        return subprocess.Popen([sys.executable, "-m", "yd_platform.cli.main", "api", "--host", host,
                                 "--port", str(port)], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)


def wait_answering(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Until `url` answers HTTP (any status) or `proc` ends; whether it answered."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.5)
    return False
