"""The Spark session of the tags stage and its settings: loopback driver for `local[*]`, a
configurable master for a cluster, the S3A settings (the object store's) for a cluster
with S3, and a real run of `tags try` on a standalone Spark cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from yd_platform.deployment import DeploymentError
from yd_platform.resources.spark import s3a_package
from yd_platform.tags.config import DEFAULT_CONFIG, load_tags_config
from yd_platform.tags.spark_session import reads_object_store
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, free_port, stop, wait_until
from yd_platform_tests.tags.rules.test_cli import RULES, USERS_CSV

CLUSTER = "spark://spark-master:7077"


def test_local_master_binds_the_driver_to_loopback(monkeypatch):
    monkeypatch.delenv("YD_SPARK_MASTER", raising=False)
    conf = load_tags_config().spark.session_config()
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_cluster_master_from_the_environment_leaves_the_driver_reachable(monkeypatch):
    monkeypatch.setenv("YD_SPARK_MASTER", "spark://spark-master:7077")
    conf = load_tags_config().spark.session_config()
    assert conf["spark.master"] == "spark://spark-master:7077"
    assert "spark.driver.host" not in conf and "spark.driver.bindAddress" not in conf
    assert conf["spark.app.name"] == "yd_platform_user_tags"


def test_cluster_driver_host_from_tags_yaml_wins(monkeypatch, tmp_path):
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    custom = tmp_path / "tags.yaml"
    custom.write_text(text.replace("    spark.app.name:", "    spark.driver.host: code-location\n"
                                                       "    spark.app.name:"), encoding="utf-8")
    monkeypatch.setenv("YD_SPARK_MASTER", "spark://spark-master:7077")
    assert load_tags_config(custom).spark.session_config()["spark.driver.host"] == "code-location"


@pytest.fixture
def minio_env(monkeypatch):
    for name, value in {"YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": "minio:9000",
                        "YD_MINIO_ACCESS_KEY": "etl", "YD_MINIO_SECRET_KEY": "etl-secret",
                        "YD_MINIO_SECURE": "false", "YD_SPARK_IVY_DIR": "/opt/ivy"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("YD_TAGS_FEATURE_READ", raising=False)
    monkeypatch.delenv("YD_MINIO_REGION", raising=False)


def test_a_cluster_with_minio_reads_the_features_over_s3a(minio_env, monkeypatch):
    monkeypatch.setenv("YD_SPARK_MASTER", CLUSTER)
    conf = load_tags_config().spark.session_config()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert not [key for key in conf if key.endswith((".access.key", ".secret.key"))]  # shown in the UI
    assert conf["spark.jars.packages"] == s3a_package()
    assert conf["spark.jars.ivy"] == "/opt/ivy"  # resolved into the image at build time


@pytest.mark.slow
def test_the_key_pair_goes_into_the_running_session_only(minio_env, spark):
    """The session's settings (which the UI shows) carry no key pair; the run gives the
    session's Hadoop configuration the object store's keys, resolved from its variables."""
    from yd_platform.resources.spark import spark_from_env

    spark_from_env().apply_s3a_credentials(spark)
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    assert (hadoop.get("fs.s3a.access.key"), hadoop.get("fs.s3a.secret.key")) == ("etl", "etl-secret")
    assert "etl-secret" not in json.dumps(dict(spark.sparkContext.getConf().getAll()))


def test_a_local_spark_stages_and_the_setting_overrides(minio_env, monkeypatch):
    monkeypatch.delenv("YD_SPARK_MASTER", raising=False)
    assert "spark.hadoop.fs.s3a.endpoint" not in load_tags_config().spark.session_config()
    assert not reads_object_store("local[*]")
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "s3a")
    assert reads_object_store("local[*]")
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "stage")
    assert not reads_object_store(CLUSTER)
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "nfs")
    with pytest.raises(DeploymentError, match="YD_TAGS_FEATURE_READ: 'nfs': use s3a or stage"):
        reads_object_store(CLUSTER)


def test_the_embedded_default_never_reads_over_s3a(monkeypatch):
    monkeypatch.delenv("YD_OBJECT_STORE", raising=False)
    monkeypatch.delenv("YD_TAGS_FEATURE_READ", raising=False)
    assert not reads_object_store(CLUSTER)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


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
        wait_until(lambda: _listening(port), f"the Spark master listening on {port}", proc=procs[0],
                   details=lambda: _tail(master_log))
        worker_log = tmp_path / "worker.log"
        procs.append(subprocess.Popen(
            [str(home / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
             "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()),
             "--work-dir", str(work)],
            env=env, stdout=worker_log.open("w"), stderr=subprocess.STDOUT))
        # a job submitted before the worker is registered would wait for resources
        wait_until(lambda: "Successfully registered with master" in worker_log.read_text(errors="replace"),
                   "the Spark worker registering with the master", proc=procs[1], details=lambda: _tail(worker_log))
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
                         env=env, capture_output=True, text=True, timeout=EVENT_DEADLINE_SECONDS)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        {"user_id": "u1", "tag_ids": [1, 3]}, {"user_id": "u3", "tag_ids": [1]}]
    # the work ran in an executor the worker launched, not in a local driver
    assert [p.name.startswith("app-") for p in work.iterdir()] == [True]
