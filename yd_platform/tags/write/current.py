"""The current user_tags rows as a Spark DataFrame, read from the table itself.

A run reads the platform's own copy instead when it still holds (`snapshot`); this is
the read when it does not (someone else wrote user_tags, or no copy was published yet).
MariaDB/MySQL: Spark reads the table over JDBC (MariaDB Connector/J, Debian package
`libmariadb-java`), in parallel ranges of the primary key, on the executors; the driver
never holds the rows. SQLite (the embedded default, always with a local Spark): the rows
are streamed in bounded batches into a parquet file in the run's staging folder.

Columns: id (the row's primary key: the upsert updates by it), user_id, tag_ids (the JSON
array parsed: array<int>), tag_details (JSON text).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from yd_platform.tags.tables import user_tags

JDBC_DRIVER = "org.mariadb.jdbc.Driver"
# Spark quotes pushed-down string filters by doubling quotes only; without backslash escapes
# that is exact for every user id.
JDBC_SESSION_INIT = "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')"
COLUMNS = "id bigint, user_id string, tag_ids string, tag_details string"
BATCH_ROWS = 50_000
# user_tags rows per JDBC read partition: the read's partition count grows with the table
JDBC_PARTITION_ROWS = 250_000


def jdbc_options(engine: sa.Engine) -> dict[str, str]:
    """Spark JDBC options for the app database of `engine` (MariaDB/MySQL)."""
    url = engine.url
    # the jdbc:mysql scheme selects Spark's MySQL dialect (backtick quoting); the MariaDB driver accepts it
    return {"url": f"jdbc:mysql://{url.host or '127.0.0.1'}:{url.port or 3306}/{url.database}?permitMysqlScheme",
            "driver": JDBC_DRIVER, "user": url.username or "root", "password": url.password or ""}


def read_partitions(low: int | None, high: int | None, minimum: int) -> int:
    """JDBC read partitions for ids low..high: one per JDBC_PARTITION_ROWS ids, at least `minimum`."""
    if low is None or high is None:
        return minimum
    return max(minimum, -(-(high - low + 1) // JDBC_PARTITION_ROWS))


def _jdbc_frame(spark: SparkSession, engine: sa.Engine, minimum: int) -> DataFrame:
    with engine.connect() as conn:
        low, high = conn.execute(sa.select(sa.func.min(user_tags.c.id), sa.func.max(user_tags.c.id))).one()
    partitions = read_partitions(low, high, minimum)
    reader = (spark.read.format("jdbc").options(**jdbc_options(engine))
              .option("dbtable", "(SELECT id, user_id, tag_ids, tag_details FROM user_tags) AS current_tags")
              .option("sessionInitStatement", JDBC_SESSION_INIT).option("fetchsize", "10000"))
    if low is not None and high > low:
        reader = (reader.option("partitionColumn", "id").option("lowerBound", str(low))
                  .option("upperBound", str(high + 1)).option("numPartitions", str(partitions)))
    return _parsed(reader.load())


def _parsed(frame: DataFrame) -> DataFrame:
    return frame.select(F.col("id").cast("long"), F.col("user_id").cast("string"),
                        F.from_json(F.col("tag_ids").cast("string"), "array<int>").alias("tag_ids"),
                        F.col("tag_details").cast("string"))


def _sqlite_frame(spark: SparkSession, engine: sa.Engine, folder: Path, user_ids: list[str] | None) -> DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.int64()), ("user_id", pa.string()), ("tag_ids", pa.string()),
                        ("tag_details", pa.string())])
    query = sa.select(user_tags.c.id, user_tags.c.user_id, sa.type_coerce(user_tags.c.tag_ids, sa.Text),
                      sa.type_coerce(user_tags.c.tag_details, sa.Text))
    queries = ([query.where(user_tags.c.user_id.in_(user_ids[i:i + 900])) for i in range(0, len(user_ids), 900)]
               if user_ids is not None else [query])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "current.parquet"
    with pq.ParquetWriter(path, schema) as writer, engine.connect() as conn:
        for q in queries:
            result = conn.execution_options(yield_per=BATCH_ROWS).execute(q)
            for rows in result.partitions():
                columns = list(zip(*rows, strict=True))
                writer.write_table(pa.table([list(c) for c in columns], schema=schema))
    return _parsed(spark.read.schema(COLUMNS).parquet(str(path)))


def current_user_tags(spark: SparkSession, engine: sa.Engine, folder: Path,
                      user_ids: Iterable[str] | None = None) -> DataFrame:
    """user_tags as it is now (only `user_ids` when given)."""
    wanted = sorted({str(u) for u in user_ids}) if user_ids else None
    if engine.dialect.name == "sqlite":
        return _sqlite_frame(spark, engine, folder, wanted)
    frame = _jdbc_frame(spark, engine, max(2, spark.sparkContext.defaultParallelism))
    return frame.filter(F.col("user_id").isin(wanted)) if wanted else frame
