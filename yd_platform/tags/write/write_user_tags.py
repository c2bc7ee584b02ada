"""Merge a run's result into user_tags with no per-user data in the Python process.

Under the user_tags write lock: a rerun whose inputs are those of the scope's last run is
skipped before reading anything (`unchanged`). Otherwise the run reads the current rows
of its scope from the platform's copy of user_tags (`snapshot`) when `table_state`
vouches that nobody else wrote the table since the copy was published, else from the
table itself (`current`). From a copy, a run that would change nothing is found without
a join (`no_change`). Otherwise Spark joins the current rows with the run's result and
works out the merged tag sets and what changed (`diff`) in one pass, which writes the
scope's new state as the next copy (the changed rows are then read back from its insert
and update files), or without a copy the changed rows only; they go to CSV part files in
the run's staging folder, or a staging table over JDBC. The run's counts are observed on
the way (Spark's `Observation`), so nothing is cached or computed twice. The database
then merges the staged rows in one transaction (`upsert`), which also checks that nobody
else wrote user_tags meanwhile and publishes the new copy (`table_state`). A rerun that
compares on unchanged data writes nothing.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from yd_platform.resources.spark import is_local_master
from yd_platform.tags.tables import ensure_tables, now_utc, tag_names
from yd_platform.tags.write import snapshot
from yd_platform.tags.write.current import current_user_tags, jdbc_options
from yd_platform.tags.write.diff import (
    RunStatistics,
    changed_rows,
    copy_rows,
    plan_changes,
    statistics_columns,
    statistics_from,
)
from yd_platform.tags.write.lock import user_tags_writer
from yd_platform.tags.write.no_change import Digest, digest_columns, digest_from, digest_hash, unchanged_statistics
from yd_platform.tags.write.table_state import (
    Published,
    TableState,
    ensure_tracking,
    in_merge,
    publish_unchanged,
    read_state,
)
from yd_platform.tags.write.unchanged import as_unchanged, forget_all, previous_statistics, remember, scope_key
from yd_platform.tags.write.upsert import create_stage_table, drop_stage_table, step, upsert_changed_rows

# where a run's current rows came from
FROM_COPY, FROM_TABLE = "copy", "user_tags"


@dataclass(frozen=True)
class WriteSummary:
    statistics: RunStatistics
    # seconds: checking whether the copy of user_tags holds ("verify"), Spark reading,
    # joining, counting and writing the changed rows out ("compare"), the database loading
    # them into its staging table ("stage") and merging them into user_tags ("merge")
    seconds: dict[str, float] = field(default_factory=dict)
    # set when the run was skipped: its inputs were those of this earlier run (`unchanged`)
    unchanged_since: datetime | None = None
    # where the current rows were read: the platform's copy or the table; and when the copy
    # was not used, why
    read_from: str = ""
    copy_unused: str = ""

    @property
    def inserted(self) -> int:
        return self.statistics.inserted

    @property
    def updated(self) -> int:
        return self.statistics.updated

    @property
    def unchanged(self) -> int:
        return self.statistics.unchanged

    def as_metadata(self) -> dict[str, object]:
        s = self.statistics
        return {"users_evaluated": s.users_evaluated, "matched_users": s.users_matched,
                "coverage": round(s.users_matched / s.users_evaluated, 4) if s.users_evaluated else 0.0,
                "rows_inserted": s.inserted, "rows_updated": s.updated, "rows_unchanged": s.unchanged,
                **{f"seconds_{k}": v for k, v in self.seconds.items()},
                **({"current_rows_from": self.read_from} if self.read_from else {}),
                **({"copy_unused": self.copy_unused} if self.copy_unused and self.read_from == FROM_TABLE else {}),
                **({"unchanged_since": self.unchanged_since.isoformat(sep=" ")} if self.unchanged_since else {})}

    def per_tag(self, names: dict[int, str] | None = None) -> list[dict[str, object]]:
        """One row per evaluated tag: users matched, hit rate among the users evaluated,
        users who gained and lost the tag in this run."""
        s = self.statistics
        return [{"tag_id": tag_id, "tag_name": (names or {}).get(tag_id, ""), "users_matched": c.matched,
                 "hit_rate": round(c.matched / s.users_evaluated, 4) if s.users_evaluated else 0.0,
                 "users_added": c.added, "users_removed": c.removed}
                for tag_id, c in sorted(s.per_tag.items())]


def write_csv(rows: DataFrame, folder: Path) -> list[Path]:
    """The rows as CSV part files that LOAD DATA and Python's csv module read back exactly:
    every field quoted, quotes doubled, no backslash escapes, spaces kept."""
    (rows.write.mode("overwrite").option("quoteAll", True).option("escape", '"')
     .option("ignoreLeadingWhiteSpace", False).option("ignoreTrailingWhiteSpace", False)
     .option("lineSep", "\n").option("encoding", "UTF-8").csv(str(folder)))
    return sorted(p for p in folder.glob("part-*") if p.stat().st_size > 0)


def default_stage(spark: SparkSession, engine: sa.Engine) -> str:
    """"jdbc" (executors write the changed rows into a staging table) for MariaDB/MySQL with
    Spark on a cluster; "files" (CSV on the driver's disk, then LOAD DATA) otherwise."""
    master = spark.sparkContext.master
    return "jdbc" if engine.dialect.name != "sqlite" and not is_local_master(master) else "files"


def _write_over_jdbc(rows: DataFrame, engine: sa.Engine, table: str) -> None:
    options = jdbc_options(engine)
    with step("writing the changed rows from Spark into the staging table"):
        (rows.write.format("jdbc").options(**options).option("url", options["url"] + "&rewriteBatchedStatements=true")
         .option("dbtable", table).option("batchsize", "10000").option("isolationLevel", "NONE")
         .mode("append").save())


def _counted_state(spark: SparkSession, engine: sa.Engine, snapshot_root: str | None) -> tuple[TableState | None, str]:
    """The state of user_tags when writes to it are counted (else None), and why the
    published copy cannot be used, if it cannot."""
    if not snapshot_root:
        return None, "no place for a copy of user_tags (tags.yaml write.snapshot)"
    problem = ensure_tracking(engine)
    if problem:
        return None, problem
    state = read_state(engine)
    if state.published and not snapshot.exists(spark, state.published.location):
        state = replace(state, published=None, unused=f"the published copy {state.published.location} is gone")
    return state, state.unused


@dataclass
class _Staging:
    """Where the changed rows go for the merge: CSV files in the run's folder, or a staging
    table the executors write over JDBC (created when there are rows)."""

    engine: sa.Engine
    folder: Path
    over_jdbc: bool
    table: str | None = None

    def put(self, rows: DataFrame) -> list[Path]:
        if not self.over_jdbc:
            return write_csv(rows, self.folder / "changed")
        self.table = create_stage_table(self.engine)
        _write_over_jdbc(rows, self.engine, self.table)
        return []

    def drop(self) -> None:
        if self.table:
            drop_stage_table(self.engine, self.table)


def _pass_with_copy(spark: SparkSession, plan: DataFrame, names: dict[int, str], observation: Observation,
                    evaluated: list[int], state: TableState, user_ids: list[str] | None, location: str,
                    staging: _Staging) -> tuple[RunStatistics, list[Path], Published]:
    """The pass writes the scope's new state as the copy at `location` (with the published
    copy's rows outside a task-users scope), summed up for the evaluated tags on the way
    when the scope is every user (`no_change`); the changed rows are then read back from
    its insert and update files only."""
    rows = copy_rows(plan, names)
    if user_ids:
        outside = snapshot.read(spark, state.published).filter(~F.col("user_id").isin(user_ids))
        rows = rows.unionByName(outside.withColumn("kind", F.lit(snapshot.SAME)))
    snapshot.write(rows, location)
    statistics = statistics_from(observation.get, evaluated)
    digest = None if user_ids else digest_from(observation.get, "copy", evaluated).as_json()
    ids = snapshot.new_row_ids(spark, location, state.max_id + 1) if statistics.inserted else {}
    files = staging.put(snapshot.changed_rows(spark, location, ids)) if statistics.changed else []
    return statistics, files, Published(location, state.generation + 1, ids, state.ids_after(statistics.inserted),
                                        digest)


def write_user_tags(spark: SparkSession, engine: sa.Engine, found: DataFrame, evaluated: Iterable[int],
                    user_ids: Iterable[str] | None = None, now: datetime | None = None,
                    staging_dir: str | Path | None = None,
                    before_merge: Callable[[object], None] | None = None, stage: str | None = None,
                    inputs: str | None = None, snapshot_root: str | None = None) -> WriteSummary:
    """Merge `found` (user_id, tag_ids: the evaluated tags each user of the scope matches,
    possibly none) into user_tags.

    `user_ids` limits the scope to those users (task-users); otherwise every user is in
    scope and users absent from `found` lose the evaluated tags. Tags not in `evaluated`
    are kept as they are. `stage`: "files" or "jdbc" (see `default_stage`). `inputs`: the
    run's input fingerprint (`unchanged.input_fingerprint`); when this scope was last written
    with the same one, the run reads and writes nothing and reports those counts again.
    `snapshot_root`: where the platform keeps its copies of user_tags (`snapshot`); None:
    no copy, every run reads the table.
    """
    evaluated = sorted({int(t) for t in evaluated})
    user_ids = sorted({str(u) for u in user_ids}) if user_ids else None
    if user_ids:
        found = found.filter(F.col("user_id").isin(user_ids))
    ensure_tables(engine)
    with user_tags_writer(engine), tempfile.TemporaryDirectory(prefix="yd-user-tags-", dir=staging_dir) as tmp:
        scope = scope_key(evaluated, user_ids)
        previous = previous_statistics(engine, scope, inputs) if inputs else None
        if previous:
            return WriteSummary(as_unchanged(previous[0]), {}, unchanged_since=previous[1])
        started = time.perf_counter()
        state, unused = _counted_state(spark, engine, snapshot_root)
        published = state.published if state else None
        seconds = {"verify": time.perf_counter() - started}
        read_from = FROM_COPY if published else FROM_TABLE
        names = tag_names(engine)
        started = time.perf_counter()
        if published:
            current = snapshot.read(spark, published, user_ids)
            # a copy of every user was summed up when it was written; a task-users scope sums its rows up
            same = unchanged_statistics(found, current, evaluated,
                                        None if user_ids else Digest.from_json(published.digest))
            if same:
                seconds["compare"] = time.perf_counter() - started
                if inputs:
                    remember(engine, scope, inputs, same, now or now_utc())
                return WriteSummary(same, _rounded(seconds), read_from=read_from)
        else:
            current = current_user_tags(spark, engine, Path(tmp), user_ids)
        # a copy holds the whole table: a task-users run has the rows outside its scope only from a copy
        location = (snapshot.new_location(snapshot_root, engine, state.generation + 1)
                    if state is not None and (user_ids is None or published) else None)
        observation = Observation(f"user_tags_run_{uuid.uuid4().hex}")
        plan = plan_changes(found, current, evaluated, names, keep_details=location is not None)
        observed = statistics_columns(evaluated)
        if location and not user_ids:
            plan = plan.withColumn("copy_hash", digest_hash(F.col("user_id"), F.col("merged"), evaluated))
            observed += digest_columns(F.col("copy_hash"), "copy")
        plan = plan.observe(observation, *observed)
        staging = _Staging(engine, Path(tmp), (stage or default_stage(spark, engine)) == "jdbc")
        publish: Published | None = None
        try:
            if location:
                statistics, files, publish = _pass_with_copy(spark, plan, names, observation, evaluated, state,
                                                             user_ids, location, staging)
            else:
                files = staging.put(changed_rows(plan, names))
                statistics = statistics_from(observation.get, evaluated)
            seconds["compare"] = time.perf_counter() - started
            now = now or now_utc()  # the merge's time, and the remembered run's
            if statistics.changed:
                forget_all(engine)

                def checked(execute, rows: int) -> None:
                    in_merge(engine.dialect.name, execute, state, rows, publish, now)

                seconds.update(upsert_changed_rows(engine, files, expected=statistics.changed, now=now,
                                                   before_merge=before_merge, table=staging.table,
                                                   in_transaction=checked if state is not None else None))
            elif publish and not publish_unchanged(engine, state, publish, now):
                publish = None
        except BaseException:
            if location:
                _quietly(snapshot.remove, spark, location)
            raise
        finally:
            staging.drop()
        if publish:
            _quietly(snapshot.remove_others, spark, publish.location)
        elif location:
            _quietly(snapshot.remove, spark, location)
        if inputs:
            remember(engine, scope, inputs, statistics, now)
    return WriteSummary(statistics, _rounded(seconds), read_from=read_from, copy_unused=unused)


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in seconds.items()}


def _quietly(action: Callable, *args) -> None:
    """Tidying up copies of user_tags: a folder left behind is removed by a later run."""
    try:
        action(*args)
    except Exception:  # noqa: BLE001 - never fail a run (or hide its error) over an old copy
        pass
