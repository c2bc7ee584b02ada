"""Spark reading the ODS feature files straight from the object store (`s3a://`).

On a Spark cluster the executors read the feature partitions from the object store
themselves, so nothing is downloaded through the driver and no folder has to be shared
between the code location and the workers. This needs Hadoop's S3A connector
(`hadoop-aws`, of the Hadoop version pyspark ships, and the AWS SDK bundle it depends on)
on the classpath: the session asks for it with `spark.jars.packages` (Spark resolves it
with its dependencies and ships it to the executors), and the production image resolves
it once at build time into `YD_SPARK_IVY_DIR`
(`python -m yd_platform.tags.features.object_read --fetch-jars`), so a run finds it there.

The endpoint, key pair and bucket are the `object_store` resource's, and when the read
applies (`YD_TAGS_FEATURE_READ`, unset: S3 with Spark on a cluster) is the `spark`
resource's (`resources.spark`); a feature read asks the session it got
(`session_reads_object_store`).
"""

from __future__ import annotations

import argparse

from yd_platform.resources.spark import SparkSettingsError, hadoop_version, s3a_package, spark_from_env

S3A_ENDPOINT = "spark.hadoop.fs.s3a.endpoint"

__all__ = ["fetch_jars", "hadoop_version", "s3a_package", "s3a_uri", "session_reads_object_store"]


def session_reads_object_store(spark) -> bool:
    """Whether this session was built with the S3A settings (`SparkResource.s3a_settings`)."""
    return spark.sparkContext.getConf().get(S3A_ENDPOINT) is not None


def s3a_uri(bucket: str, key: str) -> str:
    return f"s3a://{bucket}/{key.lstrip('/')}"


def fetch_jars() -> str:
    """Resolve hadoop-aws and its dependencies into the `spark` resource's `ivy_dir`
    (YD_SPARK_IVY_DIR; image build time)."""
    from pyspark.sql import SparkSession

    ivy = spark_from_env().ivy_dir
    if not ivy:
        raise SparkSettingsError("YD_SPARK_IVY_DIR is not set: nowhere to keep the S3A jars")
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
