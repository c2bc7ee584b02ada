"""The tags stage reading its ODS features from the object store: the S3A connector matches
pyspark's Hadoop, a session with the S3A settings gives the executors `s3a://` paths,
otherwise the partitions are staged locally. (No S3A jars can be fetched on the test
machine, so the `s3a://` read itself runs only in the production image; which sessions
get the S3A settings is in test_spark_session.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

from yd_platform.tags.features.object_read import hadoop_version, s3a_package, session_reads_object_store
from yd_platform.tags.features.source import spark_paths


def test_hadoop_aws_matches_the_hadoop_that_pyspark_ships():
    version = hadoop_version()
    assert (Path(pyspark.__file__).parent / "jars" / f"hadoop-client-api-{version}.jar").is_file()
    assert s3a_package() == f"org.apache.hadoop:hadoop-aws:{version}"


def test_the_image_build_command_names_the_connector():
    """`python -m ... --fetch-jars` runs at image build time; without it, the command only
    says which package it would resolve."""
    out = subprocess.run([sys.executable, "-m", "yd_platform.tags.features.object_read"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == s3a_package()


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
