"""user_tags as the platform last wrote it, as parquet where Spark reads it fast.

Reading all of user_tags over JDBC and parsing each row's tag_ids JSON costs several times
the evaluation itself. The run that writes user_tags already holds the table's new state
in Spark (the current rows joined with its result), so it writes that state out as a copy,
in the same pass that finds the changed rows; the next run reads the copy instead of the
table when `table_state` vouches that nobody else wrote user_tags since.

A copy is a folder `<root>/<database>/g<generation>-<random>/` of parquet files
partitioned by `kind` (`insert`, `update`, `same`: how the row came to be what it is) with
columns id, user_id, tag_ids (array<int>) and tag_details (JSON text, as in the table).
The merge's changed rows are read back from the insert and update folders only, never
from the whole copy. A row the run inserts gets its id from the run, not from the
database's auto-increment, so the copy knows it without reading the table back: the
table's largest id when the run read it, plus the row's place among the inserted rows
(the files of `kind=insert` in name order, then the row's index in its file), kept with
the published copy (`table_state`, `new_row_ids`).

Where (`write.snapshot` in tags.yaml): its `location`, else YD_HOME/tags/user_tags_snapshot
with a local Spark, and s3a://<bucket>/tags/user_tags_snapshot on a cluster whose executors
read the object store. A cluster without it shares no folder with the code location, and
its runs read user_tags itself.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import sqlalchemy as sa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from yd_platform.deployment import yd_home
from yd_platform.resources.spark import is_local_master
from yd_platform.tags.features.object_read import s3a_uri, session_reads_object_store
from yd_platform.tags.write.table_state import Published

FOLDER = "tags/user_tags_snapshot"
INSERT, UPDATE, SAME = "insert", "update", "same"
# the partition column `kind` is given too: a copy of an empty table has no file to infer it from
SCHEMA = "id bigint, user_id string, tag_ids array<int>, tag_details string, kind string"


def snapshot_root(spark: SparkSession, location: str, bucket: str | None) -> str | None:
    """Where copies of user_tags go: `location` when set, else as the module says (None:
    nowhere the executors can read)."""
    if location:
        return location
    if is_local_master(spark.sparkContext.master):
        return str(yd_home() / FOLDER)
    if bucket and session_reads_object_store(spark):
        return s3a_uri(bucket, FOLDER)
    return None


def database_key(engine: sa.Engine) -> str:
    """The app database a copy belongs to: two databases never share a folder."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        place = str(Path(url.database or ":memory:").resolve())
    else:
        place = f"{url.host}:{url.port or 3306}/{url.database}"
    return hashlib.sha256(f"{url.get_backend_name()}|{place}".encode()).hexdigest()[:16]


def new_location(root: str, engine: sa.Engine, generation: int) -> str:
    return f"{root.rstrip('/')}/{database_key(engine)}/g{generation}-{uuid.uuid4().hex[:8]}"


def _file_system(spark: SparkSession, location: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def exists(spark: SparkSession, location: str) -> bool:
    """Whether the copy at `location` was written completely (Spark's `_SUCCESS` marker)."""
    fs, path = _file_system(spark, location)
    return bool(fs.exists(spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path, "_SUCCESS")))


def remove(spark: SparkSession, location: str) -> None:
    fs, path = _file_system(spark, location)
    fs.delete(path, True)


def remove_others(spark: SparkSession, location: str) -> None:
    """Delete the other copies of the same database (earlier ones, or left by a failed run)."""
    fs, path = _file_system(spark, location)
    parent = path.getParent()
    if not fs.exists(parent):
        return
    for status in fs.listStatus(parent):
        if status.getPath().getName() != path.getName():
            fs.delete(status.getPath(), True)


def _resolved_id(new_row_ids: dict) -> Column:
    """A row's id: as written, or for an inserted row the run's first new id plus the row's
    place among the inserted rows."""
    files = new_row_ids.get("files") or {}
    if not files:
        return F.col("id")
    offsets = F.create_map(*[x for name, offset in sorted(files.items()) for x in (F.lit(name), F.lit(offset))])
    place = F.element_at(offsets, F.col("_metadata.file_name")) + F.col("_metadata.row_index")
    return F.when(F.col("kind") == INSERT, F.lit(int(new_row_ids["first"])) + place).otherwise(F.col("id"))


def read(spark: SparkSession, published: Published, user_ids: list[str] | None = None) -> DataFrame:
    """The copy as current rows: id, user_id, tag_ids (array<int>), tag_details (only
    `user_ids` when given)."""
    frame = spark.read.schema(SCHEMA).parquet(published.location)
    frame = frame.select(_resolved_id(published.new_row_ids).cast("long").alias("id"), "user_id", "tag_ids",
                         "tag_details")
    return frame.filter(F.col("user_id").isin(user_ids)) if user_ids else frame


def write(rows: DataFrame, location: str) -> None:
    """The run's new state of user_tags (id, user_id, tag_ids, tag_details, kind), one file
    per task and kind."""
    rows.write.mode("errorifexists").partitionBy("kind").parquet(location)


def new_row_ids(spark: SparkSession, location: str, first: int) -> dict:
    """The ids of the rows the copy at `location` inserts: `first`, and per file of
    kind=insert the number of inserted rows in the files before it."""
    counts = (spark.read.schema(SCHEMA).parquet(location).filter(F.col("kind") == INSERT)
              .groupBy(F.col("_metadata.file_name").alias("name")).count().collect())
    files, offset = {}, 0
    for row in sorted(counts, key=lambda r: r["name"]):
        files[row["name"]] = offset
        offset += int(row["count"])
    return {"first": int(first), "files": files}


def changed_rows(spark: SparkSession, location: str, new_row_ids: dict) -> DataFrame:
    """What the merge stages, from the insert and update rows of the copy: id (given for a
    new row too), user_id, tag_ids and tag_details (JSON text), new_row (1 for an insert)."""
    frame = spark.read.schema(SCHEMA).parquet(location).filter(F.col("kind").isin(INSERT, UPDATE))
    return frame.select(_resolved_id(new_row_ids).cast("long").alias("id"), "user_id",
                        F.to_json("tag_ids").alias("tag_ids"), "tag_details",
                        F.when(F.col("kind") == INSERT, 1).otherwise(0).alias("new_row"))
