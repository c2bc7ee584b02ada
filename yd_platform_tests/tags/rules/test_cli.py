"""`yd-platform tags list` and `yd-platform tags try` (rules tried on a file of users): output
and exit status."""

import json

import pytest

from yd_platform.cli.main import main
from yd_platform.deployment import app_db_url
from yd_platform.resources.app_db import engine_for
from yd_platform.tags.tables import save_tag

GOOD = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">=", "value": 2, "type": "number"}]}
BAD = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">=", "value": 2, "type": "number"},
                                      {"logic": "OR", "conditions": [
                                          {"field": "city", "operator": "contains", "value": 1,
                                           "type": "number"}]}]}


def test_list_shows_tags_rules_and_problems(yd_home, capsys):
    engine = engine_for(app_db_url())
    save_tag(engine, 1, "多次咨询", GOOD, category="行为分析")
    save_tag(engine, 7, "坏规则", BAD)
    assert main(["tags", "list"]) == 0
    out = capsys.readouterr().out
    assert "    1  多次咨询  [行为分析]  ok" in out
    assert '"field": "chat_sessions"' in out
    assert "tag 7: $.conditions[1].conditions[0].field: unknown field 'city'" in out

    assert main(["tags", "list", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(t["tag_id"], t["rule"] == GOOD, bool(t["problems"])) for t in lines] == [(1, True, False),
                                                                                     (7, False, True)]


RULES = [
    {"tag_id": 3, "tag_name": "talker", "rule": {"logic": "AND", "conditions": [
        {"field": "messages", "operator": ">=", "value": 10, "type": "number"}]}},
    {"tag_id": 1, "tag_name": "recent", "rule": {"logic": "OR", "conditions": [
        {"field": "last_chat", "operator": "recent_days", "value": 7, "type": "date"}]}},
]
USERS_CSV = "user_id,messages,last_chat,city\nu1,12,2025-10-01,bj\nu2,3,2025-09-01,sh\nu3,,2025-09-28,\n"


@pytest.mark.slow
def test_try_prints_sorted_tags_per_user(tmp_path, capsys, spark):
    rules, users = tmp_path / "rules.json", tmp_path / "users.csv"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    users.write_text(USERS_CSV, encoding="utf-8")
    assert main(["tags", "try", "--rules", str(rules), "--input", str(users), "--today", "2025-10-02"]) == 0
    out = capsys.readouterr()
    assert [json.loads(line) for line in out.out.splitlines()] == [
        {"user_id": "u1", "tag_ids": [1, 3]}, {"user_id": "u3", "tag_ids": [1]}]

    # parquet input, --today moves recent_days
    spark.read.option("header", True).option("inferSchema", True).csv(str(users)) \
        .write.parquet(str(tmp_path / "users.parquet"))
    assert main(["tags", "try", "--rules", str(rules), "--input", str(tmp_path / "users.parquet"),
                 "--today", "2025-10-09"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"user_id": "u1", "tag_ids": [3]}]


@pytest.mark.slow
def test_try_reports_invalid_rules_and_exits_non_zero(tmp_path, capsys, spark):
    rules, users = tmp_path / "rules.json", tmp_path / "users.csv"
    bad = {"tag_id": 7, "tag_name": "bad", "rule": {"logic": "AND", "conditions": [
        {"field": "messages", "operator": ">", "value": 1, "type": "number"},
        {"logic": "OR", "conditions": [{"field": "city", "operator": ">", "value": "a", "type": "string"}]}]}}
    rules.write_text(json.dumps([*RULES, bad]), encoding="utf-8")
    users.write_text(USERS_CSV, encoding="utf-8")
    code = main(["tags", "try", "--rules", str(rules), "--input", str(users), "--today", "2025-10-02"])
    out = capsys.readouterr()
    assert code != 0
    assert "tag 7: $.conditions[1].conditions[0].operator: '>' is not valid for type string" in out.err
    # the valid tags still ran
    assert [json.loads(line)["user_id"] for line in out.out.splitlines()] == ["u1", "u3"]


def test_try_refuses_unreadable_rules(tmp_path, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text("[not json", encoding="utf-8")
    assert main(["tags", "try", "--rules", str(rules), "--input", str(tmp_path / "x.csv")]) == 2
    assert "cannot read a JSON list of rules" in capsys.readouterr().err


@pytest.mark.slow
def test_try_with_odd_characters_in_feature_column_names(tmp_path, capsys, spark):
    rules, users = tmp_path / "rules.json", tmp_path / "users.csv"
    odd = [{"tag_id": 1, "tag_name": "tick", "rule": {"field": "msg`s", "operator": ">=", "value": 10,
                                                     "type": "number"}},
           {"tag_id": 2, "tag_name": "dot", "rule": {"field": "city.name", "operator": "=", "value": "bj",
                                                    "type": "string"}},
           {"tag_id": 3, "tag_name": "space", "rule": {"field": "last chat", "operator": "is_null",
                                                      "type": "string"}}]
    rules.write_text(json.dumps(odd), encoding="utf-8")
    users.write_text("user_id,msg`s,city.name,last chat\nu1,12,bj,x\nu2,3,sh,\n", encoding="utf-8")
    assert main(["tags", "try", "--rules", str(rules), "--input", str(users), "--today", "2025-10-02"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"user_id": "u1", "tag_ids": [1, 2]}, {"user_id": "u2", "tag_ids": [3]}]
