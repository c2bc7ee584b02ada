"""Spark (`spark`): where the tags stage's Spark runs and how its executors reach the
feature files.

- `YD_SPARK_MASTER`: the master, `spark://host:7077` for a cluster or `local[*]`;
  production requires it, embedded without it the stage's own (tags.yaml, `local[*]`).
- `YD_TAGS_FEATURE_READ`: `s3a` (the executors read the ODS files from the object store
  themselves), `stage` (they are downloaded through the driver first); unset: `s3a`
  when the object store is S3 and Spark runs on a cluster.
- `YD_SPARK_IVY_DIR`: where the S3A connector's jars were resolved (the production image
  resolves them at build time, `python -m yd_platform.tags.features.object_read --fetch-jars`).

The S3A settings come from the `object_store` resource (`ObjectStoreResource.s3a_settings`),
so Spark reads the bucket the rest of the platform writes, with the same key pair. The
tags stage adds its own session settings (`tags.spark_session`).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from yd_platform.deployment import Variables
from yd_platform.resources.object_store import ObjectStoreResource, object_store_for
from yd_platform.resources.variables import env_field, from_environment

MASTER_VARIABLE = "YD_SPARK_MASTER"
FEATURE_READ_VARIABLE = "YD_TAGS_FEATURE_READ"
IVY_DIR_VARIABLE = "YD_SPARK_IVY_DIR"
FEATURE_READS = ("s3a", "stage")
CHECK_TIMEOUT_SECONDS = 5


class SparkSettingsError(ValueError):
    """A Spark setting is wrong or cannot be met; the message names it."""


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def hadoop_version() -> str:
    """The Hadoop version of the client jars pyspark ships (hadoop-aws must match it)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")):
        found = re.fullmatch(r"hadoop-client-api-(\d+\.\d+\.\d+)\.jar", jar.name)
        if found:
            return found.group(1)
    raise SparkSettingsError(f"no hadoop-client-api-<version>.jar in {jars}: cannot tell which hadoop-aws to use")


def s3a_package() -> str:
    """Hadoop's S3A connector of pyspark's Hadoop (Spark resolves its dependencies too)."""
    return f"org.apache.hadoop:hadoop-aws:{hadoop_version()}"


class SparkResource(dg.ConfigurableResource):
    """The Spark master, how executors read the feature files, and the object store they read."""

    master: str = Field(default="", description=f"Spark master ({MASTER_VARIABLE}); empty: the stage's own")
    feature_read: str = Field(default="", description=f"s3a, stage or empty: automatic ({FEATURE_READ_VARIABLE})")
    ivy_dir: str = Field(default="", description=f"where the S3A jars were resolved ({IVY_DIR_VARIABLE})")
    object_store: ObjectStoreResource

    def master_url(self, default: str = "local[*]") -> str:
        return self.master or default

    def reads_object_store(self, master: str) -> bool:
        """Whether the executors read the feature files with `s3a://`: `s3a` always, `stage`
        never, unset when the object store is S3 and the master is not local."""
        if self.feature_read:
            return self.feature_read == "s3a"
        return self.object_store.backend == "minio" and not is_local_master(master)

    def s3a_settings(self) -> dict[str, str]:
        """Spark settings for S3A on the object store's server: the connector's package
        (from YD_SPARK_IVY_DIR when resolved there) and the store's endpoint; the key pair
        is set on the running session (`apply_s3a_credentials`)."""
        conf = {"spark.jars.packages": s3a_package(), **self.object_store.s3a_settings()}
        if self.ivy_dir:
            conf["spark.jars.ivy"] = self.ivy_dir
        return conf

    def apply_s3a_credentials(self, session) -> None:
        """Give a session the object store's key pair, resolved from its variables in the
        run, so it never appears among the session settings the UI shows."""
        hadoop = session.sparkContext._jsc.hadoopConfiguration()
        for key, value in self.object_store.s3a_credentials().items():
            hadoop.set(key, value)

    def check(self, default_master: str = "local[*]") -> str:
        """Java and pyspark are there, and a cluster's master accepts a connection. Says what
        it found; raises SparkSettingsError naming the problem."""
        java = shutil.which("java")
        if not java:
            raise SparkSettingsError("java not found on PATH")
        try:
            out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
            version = (out.stderr or out.stdout).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError) as exc:
            raise SparkSettingsError(f"java -version: {exc}") from None
        try:
            import pyspark
        except ImportError as exc:
            raise SparkSettingsError(f"{version}; pyspark: {exc}") from None
        master = self.master_url(default_master)
        if master.startswith("spark://"):
            parsed = urlparse(master)
            try:
                with socket.create_connection((parsed.hostname or "", parsed.port or 7077),
                                              timeout=CHECK_TIMEOUT_SECONDS):
                    pass
            except OSError as exc:
                raise SparkSettingsError(f"spark master {master}: {exc.strerror or exc}") from None
        return f"{version}; pyspark {pyspark.__version__}; master {master}"


def spark_for(variables: Variables, object_store: ObjectStoreResource | None = None) -> SparkResource:
    """Embedded: the stage's master unless YD_SPARK_MASTER is set. Production: YD_SPARK_MASTER required."""
    read = (variables.value(FEATURE_READ_VARIABLE) or "").strip().lower()
    if read and read not in FEATURE_READS:
        variables.invalid[FEATURE_READ_VARIABLE] = f"{read!r}: use {' or '.join(FEATURE_READS)}"
        read = ""
    return SparkResource(
        master=env_field(variables, MASTER_VARIABLE,
                         "Spark: the master, spark://HOST:7077 for a cluster or local[*] on this machine"),
        feature_read=read,
        ivy_dir=variables.value(IVY_DIR_VARIABLE) or "",
        object_store=object_store if object_store is not None else object_store_for(variables),
    )


def spark_from_env(deployment: str | None = None) -> SparkResource:
    """The deployment's Spark settings read now (commands such as `tags try`, tests)."""
    return from_environment(spark_for, deployment)
