"""A real embedded-default stack for the API: Dagster webserver and daemon on a SQLite
instance, and `yd-platform api` in front of them (one with a key, one without, as the old
tag service ran), shared by the package's tests."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.catalog import load_catalog
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tags.config import load_tags_config
from yd_platform.tags.seed.shipped import apply_seed
from yd_platform.tags.tables import save_tag
from yd_platform_tests.processes import (
    EVENT_DEADLINE_SECONDS,
    REPO,
    VENV_BIN,
    free_port,
    log_tail,
    migrate_instance,
    start_daemon,
    start_group,
    start_webserver,
    stop_group,
    wait_http,
    wait_until,
)
from yd_platform_tests.tag_rules import at_least
from yd_platform_tests.tags.ods_data import write_chat_ods

API_KEY = "test-key-7f3a"
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_SPARK_MASTER", "YD_API_KEY", "YD_UI_URL", "YD_PMS_DB_URL", "YD_API_ALLOWED_HOSTS")
LISTED_HOST = "tags.example.test"   # YD_API_ALLOWED_HOSTS of the keyless service
USER_TAGS_JOB = "user_tags_job"


@dataclass
class ApiStack:
    api_url: str
    dagster_url: str
    env: dict[str, str]
    logs: Path
    key: str | None = API_KEY

    def get(self, path: str, key: str | None = ..., headers: dict | None = None, **kw) -> requests.Response:
        return requests.get(f"{self.api_url}{path}", headers=self._headers(key, headers), timeout=30, **kw)

    def post(self, path: str, body=None, key: str | None = ..., headers: dict | None = None) -> requests.Response:
        return requests.post(f"{self.api_url}{path}", json=body, headers=self._headers(key, headers), timeout=60)

    def _headers(self, key, extra: dict | None) -> dict[str, str]:
        key = self.key if key is ... else key
        return {**({"X-API-Key": key} if key else {}), **(extra or {})}

    def run_ids(self, job: str = USER_TAGS_JOB) -> set[str]:
        """Ids of every run of `job` the instance has recorded."""
        return {r["runId"] for r in DagsterApi(self.dagster_url).runs(job, limit=100_000)}

    def wait_done(self, task_id: str, timeout: float = 900, path: str = "/api/v1/tags/tasks",
                  seen: list | None = None) -> dict:
        """Poll the task's status as the old callers did, until `completed` or `failed`;
        every status word seen on the way is appended to `seen`."""
        def finished() -> dict | None:
            status = self.get(f"{path}/{task_id}/status").json()["status"]
            if seen is not None:
                seen.append(status["status"])
            return status if status["status"] in ("completed", "failed") else None

        return wait_until(finished, f"task {task_id} completing or failing", timeout, interval=2,
                          details=lambda: log_tail(self.logs))

    def wait_healthy(self, timeout: float = EVENT_DEADLINE_SECONDS) -> requests.Response:
        """/health once the daemon has sent its first heartbeats (or the last answer)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get("/health", key=None)
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
            time.sleep(2)



def start_api(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start_group([str(VENV_BIN / "yd-platform"), "api", "--port", str(port)], env, log, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/openapi.json", proc)
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
    migrate_instance(env, logs)  # done before the webserver and the daemon open the instance together
    procs = [start_webserver(env, port, logs), start_daemon(env, logs)]
    try:
        wait_http(f"{dagster_url}/server_info", procs[0])
        api, api_url = start_api(env, logs / "api.log")
        procs.append(api)
        yield ApiStack(api_url, dagster_url, env, logs)
    finally:
        for proc in reversed(procs):
            stop_group(proc)


@pytest.fixture(scope="package")
def keyless_api(api_stack: ApiStack, tmp_path_factory) -> Iterator[ApiStack]:
    """`yd-platform api` without YD_API_KEY (loopback only, as the old tag service was
    called), over the same webserver; it also answers to LISTED_HOST."""
    env = {k: v for k, v in api_stack.env.items() if k != "YD_API_KEY"}
    env["YD_API_ALLOWED_HOSTS"] = LISTED_HOST
    proc, url = start_api(env, api_stack.logs / "api-keyless.log")
    try:
        yield dataclasses.replace(api_stack, api_url=url, env=env, key=None)
    finally:
        stop_group(proc)


@pytest.fixture(scope="package")
def seeded(api_stack: ApiStack):
    """Chat ODS partitions, the shipped tags 1-8 and two chat tags (101, 102) in the stack's
    own YD_HOME; returns the app database engine."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YD_HOME", api_stack.env["YD_HOME"])
        catalog = load_catalog()
        write_chat_ods(object_store_from_env().client(), catalog)
        engine = engine_for(f"sqlite:///{api_stack.env['YD_HOME']}/app.db")
        apply_seed(engine, load_tags_config(catalog=catalog).seed)
        save_tag(engine, 101, "多次咨询", at_least("chat_sessions", 2), category="行为分析")
        save_tag(engine, 102, "话多", at_least("chat_messages", 15), category="行为分析", description="many messages")
    return engine
