"""Merge a run's result into user_tags with no per-user data in the Python process.

Under the user_tags write lock: Spark reads the current rows of the run's scope
(`current`), joins them with the run's result and works out the merged tag sets and
what changed (`diff`), and writes only the changed rows out (CSV part files in the run's
staging folder, or a staging table over JDBC) in one pass: the run's counts are observed
on the way (Spark's `Observation`), so nothing is cached or computed twice. The database
then merges the staged rows in one transaction (`merge`). A rerun whose inputs are those
of the scope's last run is skipped before reading anything (`unchanged`); a rerun that
compares on unchanged data writes nothing.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from yd_platform.tags.config import is_local_master
from yd_platform.tags.current import current_user_tags, jdbc_options
from yd_platform.tags.diff import RunStatistics, changed_rows, plan_changes, statistics_columns, statistics_from
from yd_platform.tags.lock import user_tags_writer
from yd_platform.tags.merge import create_stage_table, drop_stage_table, merge_changed_rows, step
from yd_platform.tags.store import ensure_tables, now_utc, tag_names
from yd_platform.tags.unchanged import as_unchanged, forget_all, previous_statistics, remember, scope_key


@dataclass(frozen=True)
class WriteSummary:
    statistics: RunStatistics
    # seconds: Spark reading, joining, counting and writing the changed rows out
    # ("compare"), the database loading them into its staging table ("stage") and
    # merging them into user_tags ("merge")
    seconds: dict[str, float] = field(default_factory=dict)
    # set when the run was skipped: its inputs were those of this earlier run (`unchanged`)
    unchanged_since: datetime | None = None

    @property
    def inserted(self) -> int:
        return self.statistics.inserted

    @property
    def updated(self) -> int:
        return self.statistics.updated

    @property
    def unchanged(self) -> int:
        return self.statistics.unchanged

    def as_metadata(self) -> dict[str, int | float]:
        s = self.statistics
        return {"users_evaluated": s.users_evaluated, "matched_users": s.users_matched,
                "coverage": round(s.users_matched / s.users_evaluated, 4) if s.users_evaluated else 0.0,
                "rows_inserted": s.inserted, "rows_updated": s.updated, "rows_unchanged": s.unchanged,
                **{f"seconds_{k}": v for k, v in self.seconds.items()},
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


def write_user_tags(spark: SparkSession, engine: sa.Engine, found: DataFrame, evaluated: Iterable[int],
                    user_ids: Iterable[str] | None = None, now: datetime | None = None,
                    staging_dir: str | Path | None = None,
                    before_merge: Callable[[object], None] | None = None, stage: str | None = None,
                    inputs: str | None = None) -> WriteSummary:
    """Merge `found` (user_id, tag_ids: the evaluated tags each user of the scope matches,
    possibly none) into user_tags.

    `user_ids` limits the scope to those users (task-users); otherwise every user is in
    scope and users absent from `found` lose the evaluated tags. Tags not in `evaluated`
    are kept as they are. `stage`: "files" or "jdbc" (see `default_stage`). `inputs`: the
    run's input fingerprint (`unchanged.input_fingerprint`); when this scope was last written
    with the same one, the run reads and writes nothing and reports those counts again.
    """
    evaluated = sorted({int(t) for t in evaluated})
    user_ids = sorted({str(u) for u in user_ids}) if user_ids else None
    if user_ids:
        found = found.filter(F.col("user_id").isin(user_ids))
    ensure_tables(engine)
    with user_tags_writer(engine), tempfile.TemporaryDirectory(prefix="yd-user-tags-", dir=staging_dir) as tmp:
        folder = Path(tmp)
        scope = scope_key(evaluated, user_ids)
        previous = previous_statistics(engine, scope, inputs) if inputs else None
        if previous:
            return WriteSummary(as_unchanged(previous[0]), {}, unchanged_since=previous[1])
        current = current_user_tags(spark, engine, folder, user_ids)
        names = tag_names(engine)
        observation = Observation(f"user_tags_run_{uuid.uuid4().hex}")
        plan = plan_changes(found, current, evaluated, names).observe(observation, *statistics_columns(evaluated))
        rows = changed_rows(plan, names)
        over_jdbc = (stage or default_stage(spark, engine)) == "jdbc"
        table = create_stage_table(engine) if over_jdbc else None
        seconds, started = {}, time.perf_counter()
        try:
            if table:
                _write_over_jdbc(rows, engine, table)
                files = []
            else:
                files = write_csv(rows, folder / "changed")
            statistics = statistics_from(observation.get, evaluated)
            seconds["compare"] = time.perf_counter() - started
            now = now or now_utc()  # the merge's time, and the remembered run's
            if statistics.changed:
                forget_all(engine)
                seconds.update(merge_changed_rows(engine, files, expected=statistics.changed, now=now,
                                                  before_merge=before_merge, table=table))
        finally:
            if table:
                drop_stage_table(engine, table)
        if inputs:
            remember(engine, scope, inputs, statistics, now)
    return WriteSummary(statistics, {k: round(v, 3) for k, v in seconds.items()})
