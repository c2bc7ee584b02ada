"""What a run changes in user_tags, computed in Spark next to the data.

For the tags evaluated in this run, membership is replaced; every other tag a user has
stays (recomputing tag 3 never drops tag 5; a user who no longer matches tag 3 loses only
tag 3). A row is written only when its tag set changes, so `updated_time` moves only on
a real change and a rerun on the same data writes nothing. A user who loses every tag
keeps the row with `tag_ids = []` (and the original `created_time`).

`plan_changes` joins the run's result with the current rows (both DataFrames) and gives
every user in scope its merged tag set and a status; the run's counts come from
`statistics_columns` (aggregations the run observes while Spark writes the changed rows
out, so the plan is computed once); `changed_rows` are the rows the database merges,
their JSON built only for them (building tag_details for every user would cost more
than the comparison itself). `copy_rows` is the whole new state of the scope, written
as the platform's copy of user_tags (`snapshot`) in the same pass: the changed rows with
their new JSON, the others with the tag_details they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

INSERT, UPDATE, SAME = "insert", "update", "same"
_INTS = "array<int>"


def _int_array(values: list[int]) -> Column:
    return F.array(*[F.lit(int(v)) for v in values]).cast(_INTS)


def _details(merged: Column, old_details: Column, names: Mapping[int, str]) -> Column:
    """{"<tag id>": {"tag_name": ...}} for the merged tags: the current name of the tag,
    else the name the row already had (a tag deleted since), else ""."""
    pairs = [x for tag_id, name in sorted(names.items()) for x in (F.lit(str(tag_id)), F.lit(name))]
    name_map = F.create_map(*pairs) if pairs else F.create_map().cast("map<string,string>")
    old = F.from_json(old_details, "map<string, struct<tag_name: string>>")
    keys = F.transform(merged, lambda t: t.cast("string"))
    values = F.transform(keys, lambda k: F.struct(
        F.coalesce(F.element_at(name_map, k), F.element_at(old, k).getField("tag_name"), F.lit("")).alias("tag_name")))
    return F.to_json(F.map_from_arrays(keys, values))


def plan_changes(found: DataFrame, current: DataFrame, evaluated: list[int], known: Iterable[int],
                 keep_details: bool = False) -> DataFrame:
    """Per user in scope: id (the current row's primary key, null without a row), user_id,
    found (tags matched now, null if not in the source), old (current tag ids, null without
    a row), old_details, merged, status (null for a user with no row who gets no tag).

    `found`: user_id, tag_ids (the evaluated tags the user matches, possibly empty), one
    row per user of the run's scope; `current`: user_tags rows of the same scope (tag_ids
    as array<int>); `known`: the ids of the tags that exist now. `old_details` (the current
    JSON) is kept only for a row holding a tag not in `known`, the one case where `_details`
    reads a name from it: the JSON is the widest column and the join would otherwise
    shuffle it for every user. `keep_details` keeps every row's JSON as `current_details`,
    for `copy_rows`.
    """
    evaluated_ids = _int_array(sorted(set(evaluated)))
    known_ids = _int_array(sorted(set(known)))
    empty = F.array().cast(_INTS)
    now = found.select("user_id", F.col("tag_ids").cast(_INTS).alias("found"))
    kept = [F.col("tag_details").alias("current_details")] if keep_details else []
    old = (current.withColumn("old", F.sort_array(F.array_distinct(F.col("tag_ids").cast(_INTS))))
           .select("id", "user_id", "old", F.when(F.size(F.array_except("old", known_ids)) > 0, F.col("tag_details"))
                   .alias("old_details"), *kept))
    joined = now.join(old, "user_id", "full_outer")
    merged = F.sort_array(F.array_union(F.array_except(F.coalesce("old", empty), evaluated_ids),
                                        F.coalesce("found", empty)))
    status = (F.when(F.col("old").isNull(), F.when(F.size("merged") > 0, F.lit(INSERT)))
              .when(F.col("merged") != F.col("old"), F.lit(UPDATE)).otherwise(F.lit(SAME)))
    return joined.withColumn("merged", merged).withColumn("status", status)


def changed_rows(plan: DataFrame, names: Mapping[int, str]) -> DataFrame:
    """id, user_id, tag_ids, tag_details (JSON), new_row of the rows to insert or update
    (`names`: the current tag names by id). `id` is the row's primary key in user_tags, 0
    for a new row (the database gives it one)."""
    return (plan.filter(F.col("status").isin(INSERT, UPDATE))
            .select(F.coalesce(F.col("id"), F.lit(0).cast("long")).alias("id"), "user_id",
                    F.to_json("merged").alias("tag_ids"),
                    _details(F.col("merged"), F.col("old_details"), names).alias("tag_details"),
                    F.when(F.col("status") == INSERT, 1).otherwise(0).alias("new_row")))


def copy_rows(plan: DataFrame, names: Mapping[int, str]) -> DataFrame:
    """id (null for a new row), user_id, tag_ids (array<int>), tag_details (JSON), kind (the
    status) of every user who has a row after the run; `plan` made with `keep_details`."""
    details = F.when(F.col("status") == SAME, F.col("current_details")).otherwise(
        _details(F.col("merged"), F.col("old_details"), names))
    return (plan.filter(F.col("status").isNotNull())
            .select("id", "user_id", F.col("merged").alias("tag_ids"), details.alias("tag_details"),
                    F.col("status").alias("kind")))


@dataclass(frozen=True)
class TagCounts:
    matched: int
    added: int
    removed: int


@dataclass(frozen=True)
class RunStatistics:
    users_evaluated: int
    users_matched: int
    inserted: int
    updated: int
    unchanged: int
    per_tag: dict[int, TagCounts] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def _has(array: str, tag_id: int) -> Column:
    return F.coalesce(F.array_contains(F.col(array), F.lit(tag_id)), F.lit(False))


def statistics_columns(evaluated: list[int]) -> list[Column]:
    """The aggregations that give a run's counts over its plan."""
    evaluated = sorted(set(evaluated))
    status = F.col("status")
    holds_evaluated = F.coalesce(F.arrays_overlap("old", _int_array(evaluated)), F.lit(False))
    columns = [
        _count(F.col("found").isNotNull()).alias("evaluated"),
        _count(F.size(F.coalesce("found", F.array())) > 0).alias("matched"),
        _count(status == INSERT).alias("inserted"),
        _count(status == UPDATE).alias("updated"),
        _count((status == SAME) & ((F.size(F.coalesce("found", F.array())) > 0) | holds_evaluated)).alias("unchanged"),
    ]
    for t in evaluated:
        columns += [_count(_has("found", t)).alias(f"m{t}"),
                    _count(_has("merged", t) & ~_has("old", t)).alias(f"a{t}"),
                    _count(_has("old", t) & ~_has("merged", t)).alias(f"r{t}")]
    return columns


def statistics_from(values: Mapping[str, object], evaluated: list[int]) -> RunStatistics:
    """RunStatistics from the aggregated values of `statistics_columns` (sums over no rows are null)."""
    value = {k: int(v or 0) for k, v in values.items()}
    return RunStatistics(value["evaluated"], value["matched"], value["inserted"], value["updated"],
                         value["unchanged"],
                         {t: TagCounts(value[f"m{t}"], value[f"a{t}"], value[f"r{t}"]) for t in sorted(set(evaluated))})

