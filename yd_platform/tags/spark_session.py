"""The Spark session of the tags stage and its settings (the `spark:` section of tags.yaml).

The stage's own settings (tags.yaml: small memory settings that fit next to Dagster on 2
cores, `local[*]` by default) go with the `spark` resource's (`resources.spark`: the
master from YD_SPARK_MASTER, whether the executors read the feature files over S3A and
the object store's S3A settings). The same function builds the session of the
`user_tags` asset and the sessions outside Dagster (`tags try`, the tag page's trials,
benchmarks), so a rule behaves the same in all of them.

On a cluster the executors read the feature files from the object store themselves
(`s3a://`, see `features.object_read`), read user_tags and write the changed rows over
JDBC: no folder is shared with the workers. Whether the master is local also decides how
a run stages its changed rows (`write.write_user_tags.default_stage`), so it is answered
here once.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_pyspark import LazyPySparkResource
from pydantic import BaseModel, ConfigDict, Field

from yd_platform.resources.spark import SparkResource, is_local_master, spark_from_env

# MariaDB Connector/J from Debian's libmariadb-java (.ci/setup, docker/Dockerfile)
JDBC_JAR = "/usr/share/java/mariadb-java-client.jar"
LOCAL_DRIVER = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}

__all__ = ["SPARK_RESOURCE", "SparkSettings", "is_local_master", "open_session", "pyspark_resource",
           "reads_object_store", "spark_session"]

# The session resource of the `user_tags` asset (dagster-pyspark).
SPARK_RESOURCE = "tags_pyspark"


def reads_object_store(master: str, spark: SparkResource | None = None) -> bool:
    """Whether the executors read the feature files with `s3a://` (`SparkResource.reads_object_store`)."""
    return (spark or spark_from_env()).reads_object_store(master)


class SparkSettings(BaseModel):
    """The `spark:` section of tags.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str = "local[*]"
    config: dict[str, str] = Field(default_factory=dict)

    def master_url(self, spark: SparkResource | None = None) -> str:
        return (spark or spark_from_env()).master_url(self.master)

    def session_config(self, spark: SparkResource | None = None) -> dict[str, str]:
        """Spark settings: the `spark` resource's master (else tags.yaml's) and, when the
        features are read from the object store, its S3A settings; then tags.yaml's.
        `spark` defaults to the deployment's, read now.

        A local master binds the driver to the loopback address; a cluster's executors
        must reach the driver, so there Spark's own choice (or spark.config) applies.
        """
        spark = spark or spark_from_env()
        master = spark.master_url(self.master)
        local = LOCAL_DRIVER if is_local_master(master) else {}
        direct = spark.s3a_settings() if spark.reads_object_store(master) else {}
        conf = {**local, **direct, **self.config, "spark.master": master}
        if Path(JDBC_JAR).exists():  # Spark reads user_tags over JDBC (and ships the jar to executors)
            conf["spark.jars"] = ",".join(filter(None, [conf.get("spark.jars"), JDBC_JAR]))
        return conf


def pyspark_resource(settings: SparkSettings, spark: SparkResource | None = None) -> LazyPySparkResource:
    """dagster-pyspark's lazily started session with the stage's settings (the
    `tags_pyspark` resource of the `user_tags` asset; commands build the same one)."""
    return LazyPySparkResource(spark_config=settings.session_config(spark))


def open_session(pyspark: LazyPySparkResource, spark: SparkResource):
    """The resource's session, started now, with the object store's key pair when the
    executors read the feature files over S3A."""
    if is_local_master(pyspark.spark_config["spark.master"]):
        # A local driver binds to the loopback address; otherwise Spark guesses an interface.
        # Not for a cluster: its executors could not connect back.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = pyspark.spark_session
    session.sparkContext.setLogLevel("ERROR")
    if spark.reads_object_store(pyspark.spark_config["spark.master"]):
        spark.apply_s3a_credentials(session)
    return session


def spark_session(settings: SparkSettings, spark: SparkResource | None = None):
    """A session outside Dagster (`tags try`, the tag page's trials, benchmarks) started
    exactly as the `user_tags` asset starts its own."""
    spark = spark or spark_from_env()
    return open_session(pyspark_resource(settings, spark), spark)
