"""The GraphQL trigger helper builds the run config of the three launch modes, and the
documented example works against a real Dagster webserver; `dagster job launch` with
run config starts the same job."""

import json
import os
import subprocess
import sys
import uuid

import dagster as dg
import pytest

from yd_platform.deployment import app_db_url
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.dagster_webserver import RunLauncher
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tags.tables import read_user_tags, save_tag
from yd_platform.tags.wiring.graphql_trigger import run_config, trigger_user_tags, wait_for_run
from yd_platform_tests.processes import (
    EVENT_DEADLINE_SECONDS,
    REPO,
    free_port,
    log_tail,
    start_webserver,
    stop_group,
    wait_http,
)
from yd_platform_tests.tag_rules import at_least
from yd_platform_tests.tags.ods_data import write_chat_ods

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
    dagster_home, logs = tmp_path / "dagster_home", tmp_path / "logs"
    dagster_home.mkdir()
    logs.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("YD_SPARK_MASTER", None)
    port = free_port()
    proc = start_webserver(env, port, logs)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/server_info", proc)
        except RuntimeError as exc:
            pytest.fail(f"dagster-webserver did not start: {exc}\n{log_tail(logs)}")
        yield url, env
    finally:
        stop_group(proc)


@pytest.mark.slow
def test_graphql_trigger_and_job_launch_on_a_real_webserver(webserver, catalog):
    url, env = webserver
    write_chat_ods(object_store_from_env().client(), catalog)
    engine = engine_for(app_db_url())
    save_tag(engine, 1, "多次咨询", at_least("chat_sessions", 2))
    save_tag(engine, 2, "话多", at_least("chat_messages", 15))

    # task-tags through GraphQL, as in the yd_platform.tags.wiring.graphql_trigger docstring
    run_id = trigger_user_tags(url, tag_ids=[1], today="2025-10-02")
    assert wait_for_run(url, run_id, timeout=600, poll=2) == dg.DagsterRunStatus.SUCCESS
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"b1": [1]}

    # task-users through `dagster job launch` with run config; polled through GraphQL
    run_id = str(uuid.uuid4())
    config = run_config(user_ids=["b3"], today="2025-10-02")
    out = subprocess.run([sys.executable, "-m", "dagster", "job", "launch", "-w", str(REPO / "workspace.yaml"),
                          "-j", "user_tags_job", "--run-id", run_id, "--config-json", json.dumps(config)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=EVENT_DEADLINE_SECONDS)
    assert out.returncode == 0, out.stderr[-3000:]
    assert wait_for_run(url, run_id, timeout=600, poll=2) == dg.DagsterRunStatus.SUCCESS
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"b1": [1], "b3": [2]}
