"""Trying a draft rule before it is saved: the engine of the runs (`tags.rules`) on the
real feature source (`tags.features.source`, the ODS partitions of the window), in one
Spark session that the API process starts on the first try and keeps.

A try answers what a person deciding on a rule wants to know: how many users the draft
matches, a few of them with the values of the fields the rule tests, and against the
tag's saved rule on the same users and day, who would gain the tag and who would lose it.
Nothing is written. Tries run one at a time (the machine's Spark is small); samples are
bounded (`MAX_SAMPLE`), the counts are computed by Spark without collecting users.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from yd_platform.catalog import Catalog
from yd_platform.tags.config import TagsConfig
from yd_platform.tags.rules.validate import RuleProblem, TagRule, check_rule, parse_rule

MAX_SAMPLE = 100
MAX_SAMPLE_FIELDS = 8


class TrialRejected(ValueError):
    """The draft cannot be evaluated; `problems` say where (JSON paths)."""

    def __init__(self, problems: list[RuleProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def rule_fields(rule: Any) -> list[str]:
    """The field names a rule tests, in the order they first appear."""
    found: list[str] = []
    stack = [rule]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict) and isinstance(node.get("conditions"), list):
            stack[:0] = node["conditions"]
        elif isinstance(node, dict) and isinstance(node.get("field"), str) and node["field"] not in found:
            found.append(node["field"])
    return found


def _plain(value: Any) -> Any:
    """A value Spark returned, as JSON shows it."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class SparkForTrials:
    """The API process's Spark session: started lazily by the first try, then reused."""

    def __init__(self, config: TagsConfig):
        self.config = config
        self._start = threading.Lock()
        self.busy = threading.Lock()
        self._session = None

    def session(self):
        with self._start:
            if self._session is None:
                from yd_platform.tags.spark_session import spark_session

                self._session = spark_session(self.config.spark)
            return self._session


@dataclass
class Draft:
    rule: Any
    tag_id: int | None = None  # the tag being edited (its saved rule is the comparison)
    saved_rule: Any = None
    today: date | None = None
    sample_size: int = 20


def try_rule(spark_for_trials: SparkForTrials, catalog: Catalog, store, draft: Draft) -> dict[str, Any]:
    """Evaluate `draft.rule` and the saved rule on the feature source of `draft.today`.

    Raises TrialRejected when the draft does not pass the validator on the source's schema.
    """
    from pyspark.sql import functions as F

    from yd_platform.tags.features.source import build_feature_source
    from yd_platform.tags.rules.compile import column, schema_kinds, source_types
    from yd_platform.tags.rules.evaluate import USER_COLUMN, compile_tags
    from yd_platform.tags.wiring.run import staging_root

    config = spark_for_trials.config
    size = max(1, min(int(draft.sample_size), MAX_SAMPLE))
    started = time.monotonic()
    with spark_for_trials.busy:
        spark = spark_for_trials.session()
        with tempfile.TemporaryDirectory(prefix="yd-tag-try-", dir=staging_root()) as staging:
            source, files = build_feature_source(spark, config.source, catalog, store, draft.today, Path(staging))
            kinds = schema_kinds(source)
            problems = check_rule(draft.tag_id, draft.rule, kinds)
            if problems:
                raise TrialRejected(problems)
            saved_problems = [] if draft.saved_rule is None else check_rule(draft.tag_id, draft.saved_rule, kinds)
            tags = [TagRule(0, "draft", parse_rule(draft.rule))]
            if draft.saved_rule is not None and not saved_problems:
                tags.append(TagRule(1, "saved", parse_rule(draft.saved_rule)))
            compiled = dict(compile_tags(tags, draft.today, source_types(source)))
            draft_col = compiled[0]
            saved_col = compiled.get(1, F.lit(False))
            fields = [f for f in dict.fromkeys(rule_fields(draft.rule) + rule_fields(draft.saved_rule))
                      if f != USER_COLUMN and f in source.columns][:MAX_SAMPLE_FIELDS]
            flags = source.select(F.col(USER_COLUMN).cast("string").alias(USER_COLUMN),
                                  draft_col.alias("_draft"), saved_col.alias("_saved"),
                                  *[column(f).alias(f) for f in fields]).persist()
            try:
                def count(condition):
                    return F.sum(F.when(condition, 1).otherwise(0))

                d, s = F.col("_draft"), F.col("_saved")
                totals = flags.agg(F.count(F.lit(1)).alias("users"), count(d).alias("matched"),
                                   count(s).alias("saved"), count(d & ~s).alias("gained"),
                                   count(s & ~d).alias("lost")).first()

                def sample(condition) -> list[dict[str, Any]]:
                    rows = (flags.filter(condition).select(USER_COLUMN, *[column(f) for f in fields])
                            .orderBy(USER_COLUMN).limit(size).collect())
                    return [{k: _plain(v) for k, v in row.asDict().items()} for row in rows]

                samples = {"matched": sample(d), "gained": sample(d & ~s), "lost": sample(s & ~d)}
            finally:
                flags.unpersist()
    users = int(totals["users"] or 0)
    matched = int(totals["matched"] or 0)
    return {
        "today": draft.today.isoformat(),
        "users_evaluated": users,
        "matched": matched,
        "hit_rate": round(matched / users, 4) if users else 0.0,
        "saved_rule": None if draft.saved_rule is None else {
            "matched": int(totals["saved"] or 0), "problems": [str(p) for p in saved_problems]},
        "gained": int(totals["gained"] or 0),
        "lost": int(totals["lost"] or 0),
        "sample_fields": fields,
        "samples": samples,
        "sample_size": size,
        "files_read": files,
        "seconds": round(time.monotonic() - started, 1),
    }
