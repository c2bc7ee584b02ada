"""The Spark settings of the tags stage: loopback driver for `local[*]`, a configurable
master for a cluster, and a real run of `tags try` on a standalone Spark cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yd_platform.tags.config import DEFAULT_CONFIG, load_tags_config
from yd_platform.tags.run import staging_root
from yd_platform_tests.tags.test_cli import RULES, USERS_CSV
from yd_platform_tests.processes import free_port, stop


def test_local_master_binds_the_driver_to_loopback(monkeypatch):
    monkeypatch.delenv("YD_SPARK_MASTER", raising=False)
    conf = load_tags_config().spark_config()
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_cluster_master_from_the_environment_leaves_the_driver_reachable(monkeypatch):
    monkeypatch.setenv("YD_SPARK_MASTER", "spark://spark-master:7077")
    conf = load_tags_config().spark_config()
    assert conf["spark.master"] == "spark://spark-master:7077"
    assert "spark.driver.host" not in conf and "spark.driver.bindAddress" not in conf
    assert conf["spark.app.name"] == "yd_platform_user_tags"


def test_cluster_driver_host_from_tags_yaml_wins(monkeypatch, tmp_path):
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    custom = tmp_path / "tags.yaml"
    custom.write_text(text.replace("    spark.app.name:", "    spark.driver.host: code-location\n"
                                                       "    spark.app.name:"), encoding="utf-8")
    monkeypatch.setenv("YD_SPARK_MASTER", "spark://spark-master:7077")
    assert load_tags_config(custom).spark_config()["spark.driver.host"] == "code-location"


def test_staging_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("YD_TAGS_STAGING_DIR", raising=False)
    assert staging_root() is None
    monkeypatch.setenv("YD_TAGS_STAGING_DIR", str(tmp_path / "shared" / "stage"))
    assert staging_root() == str(tmp_path / "shared" / "stage")
    assert (tmp_path / "shared" / "stage").is_dir()



def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"Spark master exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"Spark master did not listen on {port}: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def spark_cluster(tmp_path):
    """A standalone Spark master and one worker on 127.0.0.1, from pyspark's own jars."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1",
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}
    port, work = free_port(), tmp_path / "worker"
    procs = []
    try:
        master_log = tmp_path / "master.log"
        procs.append(subprocess.Popen(
            [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(port), "--webui-port", str(free_port())],
            env=env, stdout=master_log.open("w"), stderr=subprocess.STDOUT))
        _wait_for_port(port, procs[0], master_log)
        procs.append(subprocess.Popen(
            [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
             "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
             "--work-dir", str(work)],
            env=env, stdout=(tmp_path / "worker.log").open("w"), stderr=subprocess.STDOUT))
        yield f"spark://127.0.0.1:{port}", work
    finally:
        for proc in reversed(procs):
            stop(proc)


@pytest.mark.slow
def test_tags_try_on_a_standalone_cluster(spark_cluster, tmp_path):
    master, work = spark_cluster
    rules, users = tmp_path / "rules.json", tmp_path / "users.csv"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    users.write_text(USERS_CSV, encoding="utf-8")
    env = {**os.environ, "YD_SPARK_MASTER": master, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    out = subprocess.run([sys.executable, "-m", "yd_platform.cli.main", "tags", "try", "--rules", str(rules),
                          "--input", str(users), "--today", "2025-10-02"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {"user_id": "u1", "tag_ids": [1, 3]}, {"user_id": "u3", "tag_ids": [1]}]
    # the work ran in an executor the worker launched, not in a local driver
    assert [p.name.startswith("app-") for p in work.iterdir()] == [True]
