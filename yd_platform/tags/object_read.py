"""Spark reading the ODS feature files straight from the object store (`s3a://`).

On a Spark cluster the executors read the feature partitions from MinIO themselves, so
nothing is downloaded through the driver and no folder has to be shared between the
code location and the workers. This needs Hadoop's S3A connector (`hadoop-aws`, of the
Hadoop version pyspark ships, and the AWS SDK bundle it depends on) on the classpath:
the session asks for it with `spark.jars.packages` (Spark resolves it with its
dependencies and ships it to the executors), and the production image resolves it once
at build time into `YD_SPARK_IVY_DIR` (`python -m yd_platform.tags.object_read --fetch-jars`),
so a run finds it there.

When it applies (`YD_TAGS_FEATURE_READ`): `s3a` always, `stage` never (partitions are
downloaded into the run's staging folder and read locally), unset: `s3a` when the object
store is MinIO and Spark runs on a cluster (`YD_SPARK_MASTER` is not `local`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from yd_platform.settings import env, env_flag

S3A_ENDPOINT = "spark.hadoop.fs.s3a.endpoint"
MODES = ("s3a", "stage")


class ObjectReadError(ValueError):
    """A setting of the direct object-store read is wrong; the message names it."""


def hadoop_version() -> str:
    """The Hadoop version of the client jars pyspark ships (hadoop-aws must match it)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")):
        found = re.fullmatch(r"hadoop-client-api-(\d+\.\d+\.\d+)\.jar", jar.name)
        if found:
            return found.group(1)
    raise ObjectReadError(f"no hadoop-client-api-<version>.jar in {jars}: cannot tell which hadoop-aws to use")


def s3a_package() -> str:
    return f"org.apache.hadoop:hadoop-aws:{hadoop_version()}"


def reads_object_store(master: str) -> bool:
    """Whether the features are read with `s3a://` (see the module docstring)."""
    from yd_platform.tags.config import is_local_master

    mode = (env("YD_TAGS_FEATURE_READ") or "").lower()
    if mode and mode not in MODES:
        raise ObjectReadError(f"YD_TAGS_FEATURE_READ={mode!r}: expected one of {', '.join(MODES)}")
    if mode:
        return mode == "s3a"
    return (env("YD_OBJECT_STORE") or "local") == "minio" and not is_local_master(master)


def s3a_config() -> dict[str, str]:
    """Spark settings for S3A on the MinIO of YD_MINIO_* (path-style addressing, as MinIO wants)."""
    endpoint = env("YD_MINIO_ENDPOINT", "127.0.0.1:9000")
    secure = env_flag("YD_MINIO_SECURE")
    if "://" not in endpoint:
        endpoint = f"{'https' if secure else 'http'}://{endpoint}"
    conf = {
        "spark.jars.packages": s3a_package(),
        S3A_ENDPOINT: endpoint,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "true" if secure else "false",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": env("YD_MINIO_ACCESS_KEY") or "",
        "spark.hadoop.fs.s3a.secret.key": env("YD_MINIO_SECRET_KEY") or "",
    }
    if env("YD_MINIO_REGION"):
        conf["spark.hadoop.fs.s3a.endpoint.region"] = env("YD_MINIO_REGION")
    if env("YD_SPARK_IVY_DIR"):
        conf["spark.jars.ivy"] = env("YD_SPARK_IVY_DIR")
    return conf


def session_reads_object_store(spark) -> bool:
    """Whether this session was built with the S3A settings above."""
    return spark.sparkContext.getConf().get(S3A_ENDPOINT) is not None


def s3a_uri(bucket: str, key: str) -> str:
    return f"s3a://{bucket}/{key.lstrip('/')}"


def fetch_jars() -> str:
    """Resolve hadoop-aws and its dependencies into YD_SPARK_IVY_DIR (image build time)."""
    from pyspark.sql import SparkSession

    ivy = env("YD_SPARK_IVY_DIR")
    if not ivy:
        raise ObjectReadError("YD_SPARK_IVY_DIR is not set: nowhere to keep the S3A jars")
    session = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
               .config("spark.jars.packages", s3a_package()).config("spark.jars.ivy", ivy).getOrCreate())
    session.stop()
    return ivy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="S3A connector for the tags stage's Spark sessions")
    parser.add_argument("--fetch-jars", action="store_true", help="resolve hadoop-aws into YD_SPARK_IVY_DIR")
    args = parser.parse_args(argv)
    if args.fetch_jars:
        print(f"{s3a_package()} resolved into {fetch_jars()}")
    else:
        print(s3a_package())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
