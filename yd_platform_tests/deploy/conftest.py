"""A production-shaped Dagster instance on the local MariaDB, with webserver and daemon.

The instance uses the repository's docker/dagster.yaml (MySQL storage, queued runs,
pools, compute logs in S3) with every connection detail passed as environment variables,
exactly as docker compose does; moto's S3 server (fixture `s3_server`, a bucket of the
test's own) stands in for MinIO.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from yd_platform_tests.processes import (
    EVENT_DEADLINE_SECONDS,
    REPO,
    VENV_BIN,
    free_port,
    log_tail,
    start_daemon,
    start_webserver,
    stop_group,
    wait_http,
    wait_until,
)

# Variables of the embedded default and of other production parts that must not leak in.
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG")


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    url: str
    s3_endpoint: str
    logs: Path

    def dagster(self, *args: str, timeout: float = EVENT_DEADLINE_SECONDS) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "dagster"), *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def wait_for_run(self, instance, run_id: str, timeout: float = EVENT_DEADLINE_SECONDS):
        """The run once it finished; fails the test (with the logs' tails) when it does not."""
        return wait_until(lambda: (run := instance.get_run_by_id(run_id)).is_finished and run,
                          f"run {run_id} finishing", timeout, interval=2, details=lambda: log_tail(self.logs, 4000))

    @staticmethod
    def run_failure(instance, run_id: str) -> str:
        """The failure events of a run, for assertion messages."""
        return "\n".join(f"{e.dagster_event.event_type_value}: {e.dagster_event.message or e.user_message}"
                         for e in instance.all_logs(run_id) if e.is_dagster_event and e.dagster_event.is_failure)



@pytest.fixture
def production_env(tmp_path, mysql_url, s3_server, monkeypatch) -> dict[str, str]:
    """The variables docker compose passes, pointed at the scratch database and moto."""
    import boto3

    db = sa.engine.make_url(mysql_url)
    s3_endpoint, bucket = f"http://{s3_server}", f"warehouse-{uuid.uuid4().hex[:8]}"
    home = tmp_path / "dagster_home"
    home.mkdir()
    # docker/dagster.yaml as it is, except that runs start as local processes: there is no
    # Docker engine here (the launcher's own config is checked in test_instances).
    instance = yaml.safe_load((REPO / "docker" / "dagster.yaml").read_text(encoding="utf-8"))
    instance.pop("run_launcher")
    # a test machine shared by many processes can take minutes to start a run's process
    instance["run_monitoring"]["start_timeout_seconds"] = 900
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance), encoding="utf-8")
    values = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_MYSQL_HOST": db.host or "127.0.0.1",
        "DAGSTER_MYSQL_PORT": str(db.port or 3306),
        "DAGSTER_MYSQL_USER": db.username or "root",
        "DAGSTER_MYSQL_PASSWORD": db.password or "",
        "DAGSTER_MYSQL_DB": db.database,
        "YD_MINIO_BUCKET": bucket,
        "DAGSTER_COMPUTE_LOGS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "yd-test",
        "AWS_SECRET_ACCESS_KEY": "yd-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "YD_HOME": str(tmp_path / "yd_home"),
    }
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return values


@pytest.fixture
def deployment(tmp_path, production_env) -> Iterator[Deployment]:
    """Webserver and daemon on the MySQL instance, as the compose services run them."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(production_env, SPARK_LOCAL_IP="127.0.0.1", PYTHONUNBUFFERED="1")
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # as the compose stack's dagster-init does before the webserver and daemon start
    prepared = subprocess.run([str(VENV_BIN / "yd-platform"), "prepare-instance"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=EVENT_DEADLINE_SECONDS)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    webserver = start_webserver(env, port, logs)
    daemon = start_daemon(env, logs)
    deploy = Deployment(Path(production_env["DAGSTER_HOME"]), env, url,
                        production_env["DAGSTER_COMPUTE_LOGS_ENDPOINT_URL"], logs)
    try:
        try:
            wait_http(f"{url}/server_info", webserver)
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n{log_tail(deploy.logs, 4000)}")
        yield deploy
    finally:
        stop_group(daemon)
        stop_group(webserver)
