"""Skip a user_tags run whose inputs are exactly those of the last complete run.

A run's result depends only on its inputs: the feature files it reads, the rules and
names of the tags, the day (`recent_days`), the feature configuration and its scope
(tags and users). The caller sums them up in a fingerprint (`input_fingerprint`). A file
counts by its content, not by when it was written, so an ODS partition published again
with the same rows, or downloaded again into a new staging folder, is the same input:
local files by a SHA-256 of their bytes (their path taken inside the run's staging
folder), object-store files (`s3a://`) by the ETag the store reports, and files on a
file system that offers neither by length and modification time. When the same scope
was last written with the same fingerprint and nothing wrote user_tags since, the run
reports the previous counts and neither reads nor writes user_tags: an unchanged rerun
costs a listing, a hash of the local files and one query, not a comparison of every user.

The remembered runs live in `user_tags_last_runs` (created with the other tag tables by
`tables.ensure_tables`, which every write calls first). Any run that changes rows first
forgets every remembered fingerprint (in its own transaction, before the merge), so a
scope is only ever skipped against the table as the platform last left it. `force` (run
config) always compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
from pyspark.sql import DataFrame, SparkSession

from yd_platform.tags.tables import user_tags_last_runs as last_runs
from yd_platform.tags.write.diff import RunStatistics, TagCounts

FINGERPRINT_VERSION = 2


def _local_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    return None


def _content_digest(path: Path) -> str:
    with path.open("rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def _offers_etag(jvm, status) -> bool:
    """Whether the file system's status carries an ETag (Hadoop's EtagSource, e.g. S3A)."""
    try:
        return bool(jvm.java.lang.Class.forName("org.apache.hadoop.fs.EtagSource").isInstance(status))
    except Exception:  # noqa: BLE001 - an older Hadoop without EtagSource
        return False


def _remote_state(spark: SparkSession, uri: str) -> tuple[int, str]:
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(uri)
    status = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).getFileStatus(hpath)
    etag = status.getEtag() if _offers_etag(jvm, status) else None
    version = f"etag:{etag}" if etag else f"modified:{int(status.getModificationTime())}"
    return int(status.getLen()), version


def file_states(spark: SparkSession, paths: Iterable[str],
                staging_dir: str | Path | None = None) -> list[tuple[str, int, str]]:
    """(path, length, content identity) of each file: a local file by the SHA-256 of its
    bytes, with its path relative to `staging_dir` when it lies inside (a download of this
    run); any other by its ETag, else its modification time."""
    staging = Path(staging_dir).resolve() if staging_dir else None
    states = []
    for uri in sorted(set(paths)):
        local = _local_path(uri)
        if local is None:
            states.append((uri, *_remote_state(spark, uri)))
            continue
        local = local.resolve()
        name = str(local.relative_to(staging)) if staging and local.is_relative_to(staging) else str(local)
        states.append((name, local.stat().st_size, _content_digest(local)))
    return sorted(states)


def input_fingerprint(spark: SparkSession, source: DataFrame, staging_dir: str | Path | None = None,
                      **parts: object) -> str:
    """A digest of the files `source` reads (by content, see `file_states`) and every other
    input given as `parts`."""
    described = {"version": FINGERPRINT_VERSION, "files": file_states(spark, source.inputFiles(), staging_dir),
                 **parts}
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
