"""The tags stage reading its ODS features from the object store: on a cluster with MinIO
the session gets the S3A settings and the executors are given `s3a://` paths; otherwise
the partitions are staged locally. (No S3A jars can be fetched on the test machine, so
the `s3a://` read itself runs only in the production image.)"""

from __future__ import annotations

from pathlib import Path

import pyspark
import pytest

from yd_platform.tags.config import load_tags_config
from yd_platform.tags.features import spark_paths
from yd_platform.tags.object_read import (
    ObjectReadError,
    hadoop_version,
    reads_object_store,
    s3a_package,
    session_reads_object_store,
)

CLUSTER = "spark://spark-master:7077"


@pytest.fixture
def minio_env(monkeypatch):
    for name, value in {"YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": "minio:9000",
                        "YD_MINIO_ACCESS_KEY": "etl", "YD_MINIO_SECRET_KEY": "etl-secret",
                        "YD_MINIO_SECURE": "false", "YD_SPARK_IVY_DIR": "/opt/ivy"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("YD_TAGS_FEATURE_READ", raising=False)
    monkeypatch.delenv("YD_MINIO_REGION", raising=False)


def test_hadoop_aws_matches_the_hadoop_that_pyspark_ships():
    version = hadoop_version()
    assert (Path(pyspark.__file__).parent / "jars" / f"hadoop-client-api-{version}.jar").is_file()
    assert s3a_package() == f"org.apache.hadoop:hadoop-aws:{version}"


def test_a_cluster_with_minio_reads_the_features_over_s3a(minio_env, monkeypatch):
    monkeypatch.setenv("YD_SPARK_MASTER", CLUSTER)
    conf = load_tags_config().spark_config()
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.access.key"] == "etl"
    assert conf["spark.hadoop.fs.s3a.secret.key"] == "etl-secret"
    assert conf["spark.jars.packages"] == s3a_package()
    assert conf["spark.jars.ivy"] == "/opt/ivy"  # resolved into the image at build time


def test_a_local_spark_stages_and_the_setting_overrides(minio_env, monkeypatch):
    monkeypatch.delenv("YD_SPARK_MASTER", raising=False)
    assert "spark.hadoop.fs.s3a.endpoint" not in load_tags_config().spark_config()
    assert not reads_object_store("local[*]")
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "s3a")
    assert reads_object_store("local[*]")
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "stage")
    assert not reads_object_store(CLUSTER)
    monkeypatch.setenv("YD_TAGS_FEATURE_READ", "nfs")
    with pytest.raises(ObjectReadError, match="YD_TAGS_FEATURE_READ='nfs'"):
        reads_object_store(CLUSTER)


def test_the_embedded_default_never_reads_over_s3a(monkeypatch):
    monkeypatch.delenv("YD_OBJECT_STORE", raising=False)
    monkeypatch.delenv("YD_TAGS_FEATURE_READ", raising=False)
    assert not reads_object_store(CLUSTER)


@pytest.mark.slow
def test_paths_given_to_spark(minio_store, tmp_path, spark):
    store = minio_store.client()
    keys = ["ods/dw/user_basic_info/dt=2025-10-01/part-00000.parquet"]
    store.put_bytes(keys[0], b"PAR1 features")

    assert spark_paths(store, keys, tmp_path, direct=True) == [f"s3a://{store.bucket}/{keys[0]}"]
    assert not list(tmp_path.iterdir())  # nothing downloaded through the driver

    [staged] = spark_paths(store, keys, tmp_path, direct=False)
    assert Path(staged).read_bytes() == b"PAR1 features"
    assert not session_reads_object_store(spark)  # the test session has no S3A settings
