"""A real embedded-default stack for the API: Dagster webserver and daemon on a SQLite
instance, and `yd-platform api` in front of them, shared by the package's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from yd_platform_tests.processes import free_port, start_group, stop_group, wait_http

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
API_KEY = "test-key-7f3a"
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_SPARK_MASTER", "YD_API_KEY", "YD_UI_URL", "YD_PMS_DB_URL")


@dataclass
class ApiStack:
    api_url: str
    dagster_url: str
    env: dict[str, str]
    logs: Path

    def get(self, path: str, key: str | None = API_KEY, **kw) -> requests.Response:
        return requests.get(f"{self.api_url}{path}", headers=_headers(key), timeout=30, **kw)

    def post(self, path: str, body, key: str | None = API_KEY) -> requests.Response:
        return requests.post(f"{self.api_url}{path}", json=body, headers=_headers(key), timeout=60)

    def wait_done(self, task_id: str, timeout: float = 900) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/api/v1/tags/tasks/{task_id}/status").json()["status"]
            if status["status"] in ("completed", "failed", "cancelled"):
                return status
            time.sleep(2)
        raise AssertionError(f"task {task_id} not done after {timeout}s\n{self.log_tail()}")

    def wait_healthy(self, timeout: float = 120) -> requests.Response:
        """/health once the daemon has sent its first heartbeats (or the last answer)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get("/health", key=None)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
            time.sleep(2)

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.logs.glob("*.log")))


def _headers(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}


def start_api(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start_group([str(VENV_BIN / "yd-platform"), "api", "--port", str(port)], env, log, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/openapi.json", proc, timeout=120)
    return proc, url


@pytest.fixture(scope="package")
def api_stack(tmp_path_factory) -> Iterator[ApiStack]:
    root = tmp_path_factory.mktemp("api_stack")
    home, dagster_home, logs = root / "yd_home", root / "dagster_home", root / "logs"
    for path in (home, dagster_home, logs):
        path.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    port = free_port()
    dagster_url = f"http://127.0.0.1:{port}"
    env.update(YD_HOME=str(home), DAGSTER_HOME=str(dagster_home), SPARK_LOCAL_IP="127.0.0.1",
               PYTHONUNBUFFERED="1", YD_UI_URL=dagster_url, YD_API_KEY=API_KEY,
               # a loaded machine can take over a minute to start a run's code server call
               DAGSTER_GRPC_TIMEOUT_SECONDS="300")
    workspace = str(REPO / "workspace.yaml")
    procs = [start_group([str(VENV_BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", workspace],
                         env, logs / "webserver.log", cwd=REPO),
             start_group([str(VENV_BIN / "dagster-daemon"), "run", "-w", workspace], env, logs / "daemon.log",
                         cwd=REPO)]
    try:
        wait_http(f"{dagster_url}/server_info", procs[0], timeout=240)
        api, api_url = start_api(env, logs / "api.log")
        procs.append(api)
        yield ApiStack(api_url, dagster_url, env, logs)
    finally:
        for proc in reversed(procs):
            stop_group(proc)
