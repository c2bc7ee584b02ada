"""The per-user feature source: ODS partitions aggregated per user, as the `source:` section
of tags.yaml says.

Where Spark reads the ODS parquet: on the embedded default it already lives in the local
object-store folder (YD_HOME/objects/<object_path>/...) and is read in place; with MinIO,
a session built with the S3A settings (`object_read`: Spark on a cluster) reads
`s3a://<bucket>/<key>` itself, and otherwise the partitions in the window are downloaded
to a temp folder first (`staging_dir`), which must outlive the Spark job.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import period_from_key
from yd_platform.datasets.layout import ods_files, ods_partition_key
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform.tags.features.config import EMPTY_TYPES, Feature, Source, SourceDataset, feature_schema
from yd_platform.tags.features.object_read import s3a_uri, session_reads_object_store
from yd_platform.tags.rules.evaluate import USER_COLUMN


def partition_objects(store, ds: DatasetSpec, first: date, last: date) -> list[str]:
    """Keys of the dataset's ODS parquet files whose partition starts in [first, last]."""
    starts = partition_starts(ds, ods_files(store, ds))
    return [key for key, start in starts.items() if first <= start <= last]


def partition_starts(ds: DatasetSpec, keys: list[str]) -> dict[str, date]:
    """First day of the partition each ODS file lies in (`ods_files` lists only files in one)."""
    return {key: period_from_key(ds.cadence, ods_partition_key(ds, key)).start for key in keys}


def spark_paths(store, keys: list[str], staging_dir: Path | None, direct: bool = False) -> list[str]:
    """Paths Spark can read: in place for the local store, `s3a://` URIs when the session
    reads the object store itself (`direct`), downloaded copies otherwise."""
    if isinstance(store, LocalObjectStore):
        return [str(store.root / key) for key in keys]
    if direct:
        return [s3a_uri(store.bucket, key) for key in keys]
    if staging_dir is None:
        raise ValueError("the object store is not a local folder: pass staging_dir to stage ODS partitions")
    paths = []
    for key in keys:
        target = Path(staging_dir, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        store.download(key, target)
        paths.append(str(target))
    return paths


def _aggregate(name: str, feature: Feature) -> Column:
    if feature.agg == "count":
        return F.count(F.lit(1)).alias(name)
    col = F.col(feature.column)
    return {
        "count_distinct": lambda: F.countDistinct(col),
        "sum": lambda: F.sum(col),
        "min": lambda: F.min(col),
        "max": lambda: F.max(col),
        "collect_set": lambda: F.array_sort(F.collect_set(col)),
    }[feature.agg]().alias(name)


def newest_partition(ds: DatasetSpec, keys: list[str]) -> list[str]:
    """The files of the newest partition among `keys` (a snapshot dataset's current state)."""
    starts = partition_starts(ds, keys)
    return [key for key in keys if starts[key] == max(starts.values())] if keys else []


def dataset_features(rows: DataFrame, entry: SourceDataset) -> DataFrame:
    user = F.col(entry.user_column).cast("string")
    # a snapshot column has one value per user; max() keeps one if a user appears twice
    columns = [F.max(F.col(c)).alias(c) for c in entry.columns]
    return (rows.filter(user.isNotNull() & (F.trim(user) != ""))
            .groupBy(user.alias(USER_COLUMN))
            .agg(*columns, *[_aggregate(n, f) for n, f in entry.features.items()]))


def _derive(frame: DataFrame, source: Source) -> DataFrame:
    for name, derived in source.derived.items():
        cols = [F.col(c) for c in derived.inputs]
        if derived.op == "sum":
            expr = reduce(lambda a, b: a + b, [F.coalesce(c, F.lit(0)) for c in cols])
        else:
            expr = F.greatest(*cols) if len(cols) > 1 else cols[0]
        frame = frame.withColumn(name, expr)
    return frame


def build_feature_source(spark: SparkSession, source: Source, catalog: Catalog, store, today: date,
                         staging_dir: Path | None = None) -> tuple[DataFrame, dict[str, int]]:
    """(one row per user with every feature of the `source:` section, files read per dataset)."""
    schema = feature_schema(source, catalog)
    first = today - timedelta(days=source.window_days - 1)
    frames, files = [], {}
    direct = session_reads_object_store(spark)
    for entry in source.datasets:
        ds = catalog.dataset(*entry.platform_code)
        keys = partition_objects(store, ds, first, today)
        paths = spark_paths(store, newest_partition(ds, keys) if entry.snapshot else keys, staging_dir, direct)
        files[entry.dataset] = len(paths)
        if paths:
            frames.append(dataset_features(spark.read.parquet(*paths), entry))
    if frames:
        frame = reduce(lambda a, b: a.join(b, on=USER_COLUMN, how="full_outer"), frames)
    else:
        frame = spark.createDataFrame([], f"{USER_COLUMN} string")
    base = {n: k for n, k in schema.items() if n not in source.derived}
    for name, kind in base.items():
        if name not in frame.columns:
            frame = frame.withColumn(name, F.lit(None).cast(EMPTY_TYPES[kind]))
    return _derive(frame.select(*base), source), files
