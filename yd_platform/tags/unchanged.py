"""Skip a user_tags run whose inputs are exactly those of the last complete run.

A run's result depends only on its inputs: the feature files it reads, the rules and
names of the tags, the day (`recent_days`), the feature configuration and its scope
(tags and users). The caller sums them up in a fingerprint (`input_fingerprint`: the
files by path, length and modification time as Spark's file system reports them, so it
holds for local folders and `s3a://` alike). When the same scope was last written with
the same fingerprint and nothing wrote user_tags since, the run reports the previous
counts and neither reads nor writes user_tags: an unchanged rerun costs a listing and
one query, not a comparison of every user.

The remembered runs live in `user_tags_last_runs` (created with the other tag tables by
`store.ensure_tables`, which every write calls first). Any run that changes rows first
forgets every remembered fingerprint (in its own transaction, before the merge), so a
scope is only ever skipped against the table as the platform last left it. `force` (run config) always compares. Files a run downloads
first (a local Spark on MinIO) get new modification times each run: those runs always
compare.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession

from yd_platform.tags.diff import RunStatistics, TagCounts
from yd_platform.tags.store import user_tags_last_runs as last_runs

FINGERPRINT_VERSION = 1


def file_states(spark: SparkSession, paths: Iterable[str]) -> list[tuple[str, int, int]]:
    """(path, length, modification time) of each file, through Hadoop's file system."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    states = []
    for path in sorted(set(paths)):
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        status = hpath.getFileSystem(conf).getFileStatus(hpath)
        states.append((path, int(status.getLen()), int(status.getModificationTime())))
    return states


def input_fingerprint(spark: SparkSession, source: DataFrame, **parts: object) -> str:
    """A digest of the files `source` reads and every other input given as `parts`."""
    described = {"version": FINGERPRINT_VERSION, "files": file_states(spark, source.inputFiles()), **parts}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def scope_key(evaluated: Iterable[int], user_ids: Iterable[str] | None) -> str:
    scope = {"tags": sorted(evaluated), "users": sorted(user_ids) if user_ids else None}
    return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()


def previous_statistics(engine: sa.Engine, scope: str, fingerprint: str) -> tuple[RunStatistics, datetime] | None:
    """The counts of the last run of `scope`, when it had this fingerprint."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(last_runs.c.fingerprint, last_runs.c.statistics, last_runs.c.finished_time)
                           .where(last_runs.c.scope == scope)).first()
    if row is None or row.fingerprint != fingerprint:
        return None
    stored = json.loads(row.statistics)
    per_tag = {int(t): TagCounts(**c) for t, c in stored.pop("per_tag").items()}
    return RunStatistics(**stored, per_tag=per_tag), row.finished_time


def as_unchanged(statistics: RunStatistics) -> RunStatistics:
    """The same users and matches, nothing inserted, updated, added or removed."""
    return RunStatistics(statistics.users_evaluated, statistics.users_matched, 0, 0,
                         statistics.unchanged + statistics.inserted + statistics.updated,
                         {t: TagCounts(c.matched, 0, 0) for t, c in statistics.per_tag.items()})


def forget_all(engine: sa.Engine) -> None:
    """Before rows change: no scope may be skipped against the table as it was."""
    with engine.begin() as conn:
        conn.execute(last_runs.delete())


def remember(engine: sa.Engine, scope: str, fingerprint: str, statistics: RunStatistics, now: datetime) -> None:
    body = asdict(statistics)
    body["per_tag"] = {str(t): c for t, c in body["per_tag"].items()}
    with engine.begin() as conn:
        conn.execute(last_runs.delete().where(last_runs.c.scope == scope))
        conn.execute(last_runs.insert().values(scope=scope, fingerprint=fingerprint,
                                               statistics=json.dumps(body), finished_time=now))
