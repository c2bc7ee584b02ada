"""The GraphQL trigger helper builds the run config of the three launch modes, and the
documented example works against a real Dagster webserver; `dagster job launch` with
run config starts the same job."""

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import dagster as dg
import pytest

from yd_platform.resources.app_db import engine_for
from yd_platform.resources.core import object_store_from_env
from yd_platform.settings import app_db_url
from yd_platform.launch import RunLauncher
from yd_platform.tags.graphql import run_config, trigger_user_tags, wait_for_run
from yd_platform.tags.store import read_user_tags, save_tag
from yd_platform_tests.tags.ods_data import write_chat_ods
from yd_platform_tests.processes import free_port, stop

REPO = Path(__file__).resolve().parents[2]
INSTANCE_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""


def test_run_config_of_the_launch_modes():
    assert run_config() == {"ops": {"user_tags": {"config": {"tag_ids": [], "user_ids": []}}}}
    assert run_config([1, 3]) == {"ops": {"user_tags": {"config": {"tag_ids": [1, 3], "user_ids": []}}}}
    assert run_config([5], ["u1", 2], "2025-10-02")["ops"]["user_tags"]["config"] == {
        "tag_ids": [5], "user_ids": ["u1", "2"], "today": "2025-10-02"}


def test_launcher_parses_the_webserver_url():
    client = RunLauncher("https://dagster.example.com:8443/ops").client
    assert client._url == "https://dagster.example.com:8443/ops/graphql"



@pytest.fixture
def webserver(yd_home, catalog, tmp_path):
    """dagster-webserver on the repo's workspace, with runs started at once (no daemon)."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("YD_SPARK_MASTER", None)
    port, log = free_port(), tmp_path / "webserver.log"
    proc = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
                             "-w", str(REPO / "workspace.yaml")],
                            cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"dagster-webserver did not start: {log.read_text(errors='replace')[-3000:]}")
                time.sleep(1)
        yield url, env
    finally:
        stop(proc, wait=60)


def _rule(field, value):
    return {"logic": "AND", "conditions": [{"field": field, "operator": ">=", "value": value, "type": "number"}]}


@pytest.mark.slow
def test_graphql_trigger_and_job_launch_on_a_real_webserver(webserver, catalog):
    url, env = webserver
    write_chat_ods(object_store_from_env().client(), catalog)
    engine = engine_for(app_db_url())
    save_tag(engine, 1, "多次咨询", _rule("chat_sessions", 2))
    save_tag(engine, 2, "话多", _rule("chat_messages", 15))

    # task-tags through GraphQL, as in the yd_platform.tags.graphql docstring
    run_id = trigger_user_tags(url, tag_ids=[1], today="2025-10-02")
    assert wait_for_run(url, run_id, timeout=600, poll=2) == dg.DagsterRunStatus.SUCCESS
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"b1": [1]}

    # task-users through `dagster job launch` with run config; polled through GraphQL
    run_id = str(uuid.uuid4())
    config = run_config(user_ids=["b3"], today="2025-10-02")
    out = subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-w", str(REPO / "workspace.yaml"),
                          "-j", "user_tags_job", "--run-id", run_id, "--config-json", json.dumps(config)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert wait_for_run(url, run_id, timeout=600, poll=2) == dg.DagsterRunStatus.SUCCESS
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"b1": [1], "b3": [2]}
