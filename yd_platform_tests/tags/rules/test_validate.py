"""The rule validator: every error names the tag and the JSON path; valid tags still run."""

import pytest

from yd_platform.tags.rules.validate import TagRule, check_rule, tags_from_file_entries, validate_tags
from yd_platform_tests.tag_rules import leaf

SCHEMA = {"user_id": "string", "age": "number", "city": "string", "last_login": "date",
          "vip": "boolean", "channels": "list"}


def messages(tag_id, rule):
    return [str(p) for p in check_rule(tag_id, rule, SCHEMA)]


def test_valid_nested_rule_has_no_problems():
    rule = {"logic": "AND", "conditions": [
        leaf("age", ">=", 18),
        {"logic": "OR", "conditions": [leaf("city", "in", ["bj", "sh"], "string"),
                                       {"logic": "NOT", "conditions": [leaf("vip", "=", True, "boolean")]}]},
        leaf("last_login", "recent_days", 30, "date"),
        leaf("channels", "contains", "app", "list"),
        leaf("age", "is_null"),
    ]}
    assert messages(1, rule) == []


def test_unknown_field_names_tag_and_path():
    rule = {"logic": "AND", "conditions": [leaf("age", ">", 1),
                                           {"logic": "OR", "conditions": [leaf("income", ">", 5)]}]}
    (msg,) = messages(7, rule)
    assert msg.startswith("tag 7: $.conditions[1].conditions[0].field: unknown field 'income'")


def test_operator_not_valid_for_type():
    rule = {"logic": "AND", "conditions": [leaf("age", ">", 1),
                                           {"logic": "OR", "conditions": [leaf("city", ">", "a", "string")]}]}
    (msg,) = messages(7, rule)
    assert msg.startswith("tag 7: $.conditions[1].conditions[0].operator: '>' is not valid for type string")


@pytest.mark.parametrize("node, path", [
    (leaf("age", ">", "10"), "$.conditions[0].value"),
    (leaf("age", "in", []), "$.conditions[0].value"),
    (leaf("age", "in", [1, "2"]), "$.conditions[0].value"),
    (leaf("age", "between", [10]), "$.conditions[0].value"),
    (leaf("age", "between", [10, 1]), "$.conditions[0].value"),
    (leaf("age", "is_null", 3), "$.conditions[0].value"),
    (leaf("age", "=", True), "$.conditions[0].value"),
    (leaf("last_login", ">", "2025-13-01", "date"), "$.conditions[0].value"),
    (leaf("last_login", "recent_days", -1, "date"), "$.conditions[0].value"),
    (leaf("last_login", "recent_days", "7", "date"), "$.conditions[0].value"),
    (leaf("vip", "=", "yes", "boolean"), "$.conditions[0].value"),
    (leaf("city", "starts_with", "", "string"), "$.conditions[0].value"),
])
def test_value_of_the_wrong_shape(node, path):
    (msg,) = messages(3, {"logic": "OR", "conditions": [node]})
    assert msg.startswith(f"tag 3: {path}: ")


def test_empty_group():
    rule = {"logic": "AND", "conditions": [leaf("age", ">", 1), {"logic": "OR", "conditions": []}]}
    assert messages(4, rule) == ["tag 4: $.conditions[1].conditions: empty group: a group needs at least one condition"]


def test_bad_logic_type_and_source_type_mismatch():
    rule = {"logic": "XOR", "conditions": [leaf("age", "=", 1, "money"), leaf("city", "=", 1, "number")]}
    msgs = messages(5, rule)
    assert msgs[0].startswith("tag 5: $.logic: must be one of")
    assert msgs[1].startswith("tag 5: $.conditions[0].type: must be one of")
    assert msgs[2] == "tag 5: $.conditions[1].type: field 'city' is string in the source, not number"


def test_rule_stored_as_bad_json_text():
    assert messages(6, "{not json")[0].startswith("tag 6: $: rule is not valid JSON")


def test_invalid_tags_are_skipped_and_valid_ones_kept():
    tags = [TagRule(1, "adult", {"logic": "AND", "conditions": [leaf("age", ">=", 18)]}),
            TagRule(2, "broken", {"logic": "AND", "conditions": []}),
            TagRule(3, "shanghai", '{"logic": "OR", "conditions": [{"field": "city", "operator": "=", '
                                   '"value": "sh", "type": "string"}]}')]
    result = validate_tags(tags, SCHEMA)
    assert [t.tag_id for t in result.valid] == [1, 3]
    assert result.valid[1].rule["logic"] == "OR"  # text rules are decoded
    assert list(dict.fromkeys(p.tag_id for p in result.problems)) == [2]


def test_rules_file_entries():
    tags, problems = tags_from_file_entries(
        [{"tag_id": 1, "tag_name": "a", "rule": {}}, {"tag_id": "x"}, {"tag_id": 2}, "nope"], "rules.json")
    assert [t.tag_id for t in tags] == [1]
    assert [str(p) for p in problems] == ["tag ?: $[1].tag_id: must be an integer (got 'x')",
                                          "tag 2: $[2].rule: missing",
                                          "tag ?: $[3]: expected an object {tag_id, tag_name, rule}"]


def nested(depth: int) -> dict:
    rule = leaf("age", ">", 1)
    for _ in range(depth):
        rule = {"logic": "AND", "conditions": [rule]}
    return rule


def test_rule_nested_1200_deep_is_refused_with_its_tag_and_the_others_run():
    from yd_platform.tags.rules.validate import MAX_DEPTH

    result = validate_tags([TagRule(8, "deep", nested(1200)), TagRule(9, "ok", nested(3))], SCHEMA)
    assert [t.tag_id for t in result.valid] == [9]
    (problem,) = result.problems
    assert problem.tag_id == 8
    assert problem.path == "$" + ".conditions[0]" * MAX_DEPTH
    assert f"more than {MAX_DEPTH} levels deep" in str(problem)
    assert messages(9, nested(MAX_DEPTH)) == []


def test_deep_rule_stored_as_text_is_refused_by_tag(tmp_path):
    import json

    import sqlalchemy as sa

    from yd_platform.resources.app_db import engine_for
    from yd_platform.tags.tables import load_tags, save_tag

    engine = engine_for(f"sqlite:///{tmp_path / 'app.db'}")
    save_tag(engine, 1, "deep", leaf("age", ">", 1))
    save_tag(engine, 2, "fine", leaf("age", ">", 2))
    deep_text = '{"logic": "AND", "conditions": [' * 1200 + json.dumps(leaf("age", ">", 1)) + "]}" * 1200
    with engine.begin() as conn:  # written as text: json.dumps itself would not go this deep
        conn.execute(sa.text("UPDATE tag_rules SET rule_conditions = :r WHERE tag_id = 1"), {"r": deep_text})
    result = validate_tags(load_tags(engine), SCHEMA)
    assert [t.tag_id for t in result.valid] == [2]
    assert [p.tag_id for p in result.problems] == [1]


def test_group_width_and_list_length_limits():
    from yd_platform.tags.rules.validate import MAX_GROUP_WIDTH, MAX_LIST_VALUES

    wide = {"logic": "OR", "conditions": [leaf("age", ">", i) for i in range(MAX_GROUP_WIDTH + 1)]}
    (msg,) = messages(11, {"logic": "AND", "conditions": [wide]})
    assert msg.startswith(f"tag 11: $.conditions[0].conditions: {MAX_GROUP_WIDTH + 1} conditions in one group, "
                          f"more than the limit of {MAX_GROUP_WIDTH}")
    assert messages(11, {"logic": "OR", "conditions": wide["conditions"][:MAX_GROUP_WIDTH]}) == []
    (msg,) = messages(12, leaf("age", "in", list(range(MAX_LIST_VALUES + 1))))
    assert msg.startswith(f"tag 12: $.value: in list has {MAX_LIST_VALUES + 1} values, more than the limit")
