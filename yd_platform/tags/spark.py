"""The Spark session of the tags stage: `local[*]` on the machine by default, a cluster
master from YD_SPARK_MASTER. Small memory settings so it fits next to Dagster on 2 cores.

On a cluster the executors read the feature files from MinIO themselves (`s3a://`, see
`object_read`), read user_tags and write the changed rows over JDBC: no folder is shared
with the workers.
"""

from __future__ import annotations

import os

from dagster_pyspark import PySparkResource

from yd_platform.tags.config import TagsConfig, is_local_master

SPARK_RESOURCE = "tags_pyspark"


def _loopback_only(cfg: TagsConfig) -> None:
    # A local driver binds to the loopback address; otherwise Spark guesses an interface.
    # Not for a cluster: its executors could not connect back.
    if is_local_master(cfg.spark_master()):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def pyspark_resource(cfg: TagsConfig) -> PySparkResource:
    _loopback_only(cfg)
    return PySparkResource(spark_config=cfg.spark_config())


def spark_session(cfg: TagsConfig):
    """A session outside Dagster (the `tags try` command, benchmarks) with the same settings."""
    _loopback_only(cfg)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in cfg.spark_config().items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
