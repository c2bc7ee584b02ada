"""Evaluating the rules: every selected rule in a single select, one pass over the source.

Each tag becomes `when(rule, [tag_id]).otherwise([])` and one `concat(...)` joins them,
so the tags a user did not match leave nothing (no nulls to drop afterwards). Spark
scans the feature source once, whatever the number of tags, instead of one job per tag
followed by a merge of the results.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from yd_platform.tags.rules.compile import balanced, rule_expression, source_types
from yd_platform.tags.rules.validate import RuleProblem, TagRule

USER_COLUMN = "user_id"


def restrict_users(source: DataFrame, user_ids: Iterable[str] | None) -> DataFrame:
    """Only the given users (task-users mode); ids are bound as literals, never SQL text."""
    wanted = sorted({str(u) for u in user_ids or []})
    if not wanted:
        return source
    return source.filter(F.col(USER_COLUMN).cast("string").isin(wanted))


def compile_tags(tags: list[TagRule], today: date, types: dict,
                 problems: list[RuleProblem] | None = None) -> list[tuple[int, Column]]:
    """(tag_id, boolean Column) per tag, by tag id; a rule that cannot be compiled is left
    out and reported in `problems`, so it never stops the other tags."""
    compiled = []
    for tag in sorted(tags, key=lambda t: t.tag_id):
        try:
            compiled.append((tag.tag_id, rule_expression(tag.rule, today, types)))
        except (RecursionError, ValueError, TypeError, KeyError) as exc:
            if problems is None:
                raise
            problems.append(RuleProblem(tag.tag_id, "$", f"cannot be compiled: {type(exc).__name__}: {exc}"))
    return compiled


def _select(source: DataFrame, compiled: list[tuple[int, Column]]) -> DataFrame:
    if not compiled:
        return source.select(F.col(USER_COLUMN).cast("string").alias(USER_COLUMN),
                             F.array().cast("array<int>").alias("tag_ids")).limit(0)
    none = F.array().cast("array<int>")
    matched = F.concat(*[F.when(expr, F.array(F.lit(tag_id))).otherwise(none) for tag_id, expr in compiled])
    return source.select(F.col(USER_COLUMN).cast("string").alias(USER_COLUMN), matched.alias("tag_ids"))


def evaluate(source: DataFrame, tags: list[TagRule], today: date, user_ids: Iterable[str] | None = None,
             problems: list[RuleProblem] | None = None) -> DataFrame:
    """user_id, tag_ids (ascending, possibly empty) for every user of the source (or `user_ids`)."""
    source = restrict_users(source, user_ids)
    return _select(source, compile_tags(tags, today, source_types(source), problems))


def tag_users(source: DataFrame, tags: list[TagRule], today: date,
              user_ids: Iterable[str] | None = None,
              problems: list[RuleProblem] | None = None) -> DataFrame:
    """user_id, tag_ids (ascending) for every user matching at least one of `tags`.

    The rows are kept by `rule1 OR rule2 ...` on the source, not by `size(tag_ids) > 0`:
    Spark would push that filter below the select by pasting the whole tag array into
    it, evaluating every rule twice per user; the OR stops at the first match."""
    source = restrict_users(source, user_ids)
    compiled = compile_tags(tags, today, source_types(source), problems)
    if compiled:
        source = source.filter(balanced([expr for _, expr in compiled], lambda a, b: a | b))
    return _select(source, compiled)


def collect_tags(result: DataFrame) -> dict[str, list[int]]:
    """An evaluation's result on the driver through Arrow (fast for millions of rows); a user
    listed twice in the source gets the union of both rows' tags."""
    table = result.toArrow()
    users = table.column(USER_COLUMN).to_pylist()
    tag_ids = table.column("tag_ids").to_pylist()
    merged: dict[str, set[int]] = {}
    for user, ids in zip(users, tag_ids, strict=True):
        if user is not None:
            merged.setdefault(user, set()).update(int(t) for t in ids)
    return {user: sorted(ids) for user, ids in merged.items()}
