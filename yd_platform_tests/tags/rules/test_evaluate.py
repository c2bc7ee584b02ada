"""The one-pass evaluation on real Spark: each operator per type, nested logic, null semantics."""

from datetime import date, datetime

import pytest

from yd_platform.tags.rules.evaluate import collect_tags, tag_users
from yd_platform.tags.rules.validate import TagRule
from yd_platform_tests.tag_rules import leaf

pytestmark = pytest.mark.slow

TODAY = date(2025, 10, 10)
SCHEMA = ("user_id string, age bigint, score double, city string, last_login date, seen_at timestamp_ntz, "
          "vip boolean, channels array<string>")
ROWS = [
    ("u1", 25, 80.5, "beijing", date(2025, 10, 9), datetime(2025, 10, 10, 8, 0), True, ["app", "web"]),
    ("u2", 40, 60.0, "shanghai", date(2025, 9, 1), datetime(2025, 9, 30, 23, 59), False, ["web"]),
    ("u3", 17, None, "bei", date(2025, 10, 3), None, None, []),
    ("u4", None, 99.0, None, None, datetime(2025, 10, 3, 0, 0), True, None),
]


@pytest.fixture(scope="module")
def users(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def matching(users, rule):
    result = collect_tags(tag_users(users, [TagRule(1, "t", rule)], TODAY))
    return sorted(result)


@pytest.mark.parametrize("node, expected", [
    # number
    (leaf("age", "=", 25), ["u1"]),
    (leaf("age", "!=", 25), ["u2", "u3"]),
    (leaf("age", ">", 25), ["u2"]),
    (leaf("age", ">=", 25), ["u1", "u2"]),
    (leaf("age", "<", 25), ["u3"]),
    (leaf("age", "<=", 25), ["u1", "u3"]),
    (leaf("age", "in", [17, 40]), ["u2", "u3"]),
    (leaf("age", "not_in", [17, 40]), ["u1"]),
    (leaf("score", "between", [60, 80.5]), ["u1", "u2"]),
    (leaf("score", "in_range", [81, 100]), ["u4"]),
    (leaf("score", "is_null"), ["u3"]),
    (leaf("score", "is_not_null"), ["u1", "u2", "u4"]),
    # string
    (leaf("city", "=", "beijing", "string"), ["u1"]),
    (leaf("city", "!=", "beijing", "string"), ["u2", "u3"]),
    (leaf("city", "in", ["bei", "shanghai"], "string"), ["u2", "u3"]),
    (leaf("city", "not_in", ["bei"], "string"), ["u1", "u2"]),
    (leaf("city", "contains", "ng", "string"), ["u1", "u2"]),
    (leaf("city", "starts_with", "bei", "string"), ["u1", "u3"]),
    (leaf("city", "contains", "%", "string"), []),  # no LIKE wildcards
    (leaf("city", "is_null", None, "string"), ["u4"]),
    # date, on a date and on a timestamp column
    (leaf("last_login", "=", "2025-10-09", "date"), ["u1"]),
    (leaf("last_login", "!=", "2025-10-09", "date"), ["u2", "u3"]),
    (leaf("last_login", ">", "2025-10-03", "date"), ["u1"]),
    (leaf("last_login", ">=", "2025-10-03", "date"), ["u1", "u3"]),
    (leaf("last_login", "<", "2025-10-03", "date"), ["u2"]),
    (leaf("last_login", "<=", "2025-10-03", "date"), ["u2", "u3"]),
    (leaf("last_login", "between", ["2025-09-01", "2025-10-03"], "date"), ["u2", "u3"]),
    (leaf("last_login", "recent_days", 7, "date"), ["u1", "u3"]),
    (leaf("last_login", "recent_days", 6, "date"), ["u1"]),
    (leaf("seen_at", "recent_days", 0, "date"), ["u1"]),
    (leaf("seen_at", "recent_days", 10, "date"), ["u1", "u2", "u4"]),
    (leaf("seen_at", "<", "2025-10-01", "date"), ["u2"]),
    (leaf("seen_at", "is_null", None, "date"), ["u3"]),
    # boolean
    (leaf("vip", "=", True, "boolean"), ["u1", "u4"]),
    (leaf("vip", "!=", True, "boolean"), ["u2"]),
    (leaf("vip", "is_not_null", None, "boolean"), ["u1", "u2", "u4"]),
    # list
    (leaf("channels", "contains", "web", "list"), ["u1", "u2"]),
    (leaf("channels", "in", ["app", "tv"], "list"), ["u1"]),
    (leaf("channels", "not_in", ["app"], "list"), ["u2", "u3"]),
    (leaf("channels", "is_null", None, "list"), ["u4"]),
])
def test_operator(users, node, expected):
    assert matching(users, node) == expected


def test_nested_logic(users):
    rule = {"logic": "OR", "conditions": [
        {"logic": "AND", "conditions": [leaf("age", ">=", 18), leaf("vip", "=", True, "boolean")]},
        {"logic": "AND", "conditions": [
            leaf("city", "starts_with", "bei", "string"),
            {"logic": "NOT", "conditions": [leaf("age", ">=", 18)]},
        ]},
    ]}
    assert matching(users, rule) == ["u1", "u3"]


def test_null_comparisons_are_false_and_not_of_them_true(users):
    # u4 has no age: age > 0 is false, age <= 0 is false, so NOT(age > 0) is true.
    assert "u4" not in matching(users, leaf("age", ">", 0))
    assert "u4" not in matching(users, leaf("age", "<=", 0))
    assert "u4" in matching(users, {"logic": "NOT", "conditions": [leaf("age", ">", 0)]})
    # NOT matches when none of its conditions match
    rule = {"logic": "NOT", "conditions": [leaf("age", "=", 25), leaf("age", "=", 40)]}
    assert matching(users, rule) == ["u3", "u4"]


def test_all_tags_in_one_pass_sorted_per_user(users):
    tags = [TagRule(9, "vip", leaf("vip", "=", True, "boolean")),
            TagRule(2, "adult", leaf("age", ">=", 18)),
            TagRule(5, "web", leaf("channels", "contains", "web", "list"))]
    result = tag_users(users, tags, TODAY)
    assert collect_tags(result) == {"u1": [2, 5, 9], "u2": [2, 5], "u4": [9]}
    # one select over the source: the plan has a single scan and no join/union/aggregate
    plan = result._jdf.queryExecution().optimizedPlan().toString()
    assert "Join" not in plan and "Union" not in plan and "Aggregate" not in plan


def test_user_ids_restrict_the_run(users):
    tags = [TagRule(2, "adult", leaf("age", ">=", 18))]
    assert collect_tags(tag_users(users, tags, TODAY, user_ids=["u2", "u3", "nobody"])) == {"u2": [2]}


def test_malformed_values_do_not_stop_the_pass(spark):
    """Spark's ANSI mode aborts a job on a failed cast; a bad value in one row must only
    make that row's comparison false, and every other tag still runs."""
    rows = spark.createDataFrame([("u1", "2025-10-08", ["app"], [1, 2]), ("u2", "garbage", ["web"], [3]),
                                  ("u3", "2025/10/08", None, None)],
                                 "user_id string, seen string, channels array<string>, shops array<bigint>")
    tags = [TagRule(1, "recent", leaf("seen", "recent_days", 7, "date")),
            TagRule(2, "after", leaf("seen", ">", "2025-01-01", "date")),
            TagRule(3, "numbers in a string list", leaf("channels", "in", [1, 2], "list")),
            TagRule(4, "string in a number list", leaf("shops", "contains", "x", "list")),
            TagRule(5, "mixed values", leaf("shops", "in", ["x", 3], "list")),
            TagRule(6, "none of them", leaf("shops", "not_in", ["x"], "list")),
            TagRule(7, "web", leaf("channels", "contains", "web", "list"))]
    assert collect_tags(tag_users(rows, tags, TODAY)) == {"u1": [1, 2, 6], "u2": [5, 6, 7]}


def test_wide_or_groups_compile_and_match_like_python(spark):
    """An OR of 500 conditions (and the widest, deepest rule the validator accepts) runs
    in Spark: groups compile to a balanced tree, same-field equalities to one isin."""
    from yd_platform.tags.rules.validate import MAX_DEPTH, MAX_GROUP_WIDTH

    rows = [(f"u{i}", i, float(i % 97), f"c{i % 50}") for i in range(2000)]
    users = spark.createDataFrame(rows, "user_id string, n bigint, score double, city string")
    equal_500 = {"logic": "OR", "conditions": [leaf("n", "=", i * 3) for i in range(500)]}
    mixed_500 = {"logic": "OR", "conditions": [
        leaf("n", "between", [i * 10, i * 10 + 1]) if i % 2 else leaf("city", "=", f"c{i % 7}", "string")
        for i in range(500)]}
    widest = {"logic": "AND", "conditions": [leaf("score", ">=", float(i % 3)) for i in range(MAX_GROUP_WIDTH)]}
    deepest = leaf("n", "<", 100)
    for depth in range(MAX_DEPTH - 1):
        # AND levels add conditions that always hold, OR levels ones that never do
        extra = ([leaf("n", "=", 5000 + depth * 100 + k) for k in range(50)] if depth % 2
                 else [leaf("n", ">=", -k) for k in range(50)])
        deepest = {"logic": "OR" if depth % 2 else "AND", "conditions": [deepest, *extra]}
    tags = [TagRule(1, "equal", equal_500), TagRule(2, "mixed", mixed_500), TagRule(3, "widest", widest),
            TagRule(4, "deepest", {"logic": "AND", "conditions": [deepest]})]
    problems = []
    result = collect_tags(tag_users(users, tags, TODAY, problems=problems))
    assert problems == []
    expected: dict[str, list[int]] = {}
    for user, n, score, city in rows:
        hits = [n % 3 == 0 and n < 1500,
                any(i % 2 and i * 10 <= n <= i * 10 + 1 for i in range(500))
                or city in {f"c{i % 7}" for i in range(0, 500, 2)},
                score >= 2.0,
                n < 100]
        ids = [tag_id for tag_id, hit in zip((1, 2, 3, 4), hits, strict=True) if hit]
        if ids:
            expected[user] = ids
    assert result == expected


def test_a_rule_that_cannot_compile_is_reported_and_the_others_run(users):
    problems = []
    tags = [TagRule(1, "broken", leaf("age", "between", 5)), TagRule(2, "adult", leaf("age", ">=", 18))]
    result = collect_tags(tag_users(users, tags, TODAY, problems=problems))
    assert result == {"u2": [2], "u1": [2]}
    assert [p.tag_id for p in problems] == [1]
