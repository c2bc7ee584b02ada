"""A run that changes nothing, found without a join (`no_change`), with real PySpark:
exactly when no user gains or loses an evaluated tag, whatever the tags not evaluated,
the order of the ids or the number of evaluated tags (more than fit in one integer)."""

from __future__ import annotations

import pytest

from yd_platform.tags.write.no_change import BITS, unchanged_statistics

pytestmark = pytest.mark.slow

MANY = list(range(1, 2 * BITS + 10))  # three integers of bits


def frames(spark, found: dict[str, list[int]], held: dict[str, list[int]]):
    schema = "user_id string, tag_ids array<int>"
    return (spark.createDataFrame(list(found.items()), schema),
            spark.createDataFrame(list(held.items()), schema))


def test_the_same_tags_are_no_change(spark):
    found, held = frames(spark, {"a": [3, 5], "b": [], "c": [5]},
                         {"a": [5, 3, 9], "b": [9], "c": [5], "gone": [9]})  # 9 is not evaluated
    same = unchanged_statistics(found, held, [5, 3])
    assert same is not None
    assert (same.users_evaluated, same.users_matched, same.inserted, same.updated, same.unchanged) == (3, 2, 0, 0, 2)
    assert {t: (c.matched, c.added, c.removed) for t, c in same.per_tag.items()} == {3: (1, 0, 0), 5: (2, 0, 0)}


@pytest.mark.parametrize("held", [
    {"a": [3], "c": [5]},  # a gains 5
    {"a": [3, 5], "c": [5], "b": [3]},  # b loses 3
    {"a": [3, 5]},  # c is new
    {"a": [3, 5], "c": [3]},  # c swaps 3 for 5
    {"a": [3, 5], "d": [5]},  # the same number of tags, another user
])
def test_a_user_gaining_or_losing_an_evaluated_tag_is_a_change(spark, held):
    found, current = frames(spark, {"a": [3, 5], "b": [], "c": [5]}, held)
    assert unchanged_statistics(found, current, [3, 5]) is None


def test_more_tags_than_one_integer_holds(spark):
    last, middle = MANY[-1], MANY[BITS + 1]
    found, held = frames(spark, {"a": [1, middle, last], "b": [BITS]}, {"a": [1, middle, last], "b": [BITS]})
    same = unchanged_statistics(found, held, MANY)
    assert same is not None and same.per_tag[last].matched == 1 and same.per_tag[BITS].matched == 1
    for other in ({"a": [1, middle], "b": [BITS]}, {"a": [1, middle, last], "b": [BITS + 1]}):
        found, held = frames(spark, {"a": [1, middle, last], "b": [BITS]}, other)
        assert unchanged_statistics(found, held, MANY) is None
