"""The tag page's JSON endpoints, against a real `yd-platform api` process on an SQLite app
database (the Dagster webserver it names is down: these calls do not need it, and the
ones that do say so). Every write goes through the tag tables and the validator: what the
page saves is what the runs load, a refused rule writes nothing, and each change leaves
one audit row naming the key's holder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from yd_platform.resources.app_db import engine_for
from yd_platform.tags.rules.validate import OPERATORS_BY_TYPE
from yd_platform.tags.tables import load_tags, save_tag, tag_audit_rows
from yd_platform_tests.api.conftest import CLEARED, start_api
from yd_platform_tests.processes import free_port, stop_group
from yd_platform_tests.tag_rules import leaf, rule

SERVICE_KEY = "service-key-3c1d"
ALICE, BOB = "alice-key-91f0", "bob-key-5e2a"
ADMIN = "/api/v1/tags/admin"


class Client:
    def __init__(self, url: str, logs: Path):
        self.url, self.logs = url, logs

    def call(self, method: str, path: str, key: str | None = ALICE, body=None) -> requests.Response:
        headers = {"X-API-Key": key} if key else {}
        return requests.request(method, f"{self.url}{path}", json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    root = tmp_path_factory.mktemp("tag_admin_api")
    home = root / "yd_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED + ("YD_API_KEYS",)}
    env.update(YD_HOME=str(home), YD_API_KEY=SERVICE_KEY, YD_API_KEYS=f"alice:{ALICE}, bob:{BOB}",
               YD_UI_URL=f"http://127.0.0.1:{free_port()}", PYTHONUNBUFFERED="1")
    proc, url = start_api(env, root / "api.log")
    try:
        yield Client(url, root / "api.log"), engine_for(f"sqlite:///{home}/app.db")
    finally:
        stop_group(proc)


def test_the_page_and_its_files_are_served_without_a_key_and_run_only_their_own_code(admin):
    client, _ = admin
    page = client.call("GET", "/tags/admin", key=None)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "标签管理" in page.text and "/tags/admin/static/tag_admin.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("tag_admin.js", "javascript"), ("tag_admin.css", "text/css")):
        served = client.call("GET", f"/tags/admin/static/{name}", key=None)
        assert served.status_code == 200 and kind in served.headers["content-type"]
    assert client.call("GET", "/tags/admin/static/../settings.py", key=None).status_code == 404
    assert client.call("GET", "/tags/admin/static/tags.py", key=None).status_code == 404


def test_every_call_needs_a_key_and_the_actor_is_the_keys_holder(admin):
    client, _ = admin
    assert client.call("GET", f"{ADMIN}/me", key=None).status_code == 401
    assert client.call("GET", f"{ADMIN}/tags", key="not-a-key").status_code == 401
    assert client.call("GET", f"{ADMIN}/me", key=ALICE).json() == {"actor": "alice"}
    assert client.call("GET", f"{ADMIN}/me", key=BOB).json() == {"actor": "bob"}
    assert client.call("GET", f"{ADMIN}/me", key=SERVICE_KEY).json() == {"actor": "YD_API_KEY"}
    # personal keys open the tag page's calls only; the rest of the API keeps the service key
    assert client.call("GET", "/api/v1/tags/available", key=ALICE).status_code == 401


def test_the_form_offers_the_features_and_the_validators_operators(admin):
    client, _ = admin
    form = client.call("GET", f"{ADMIN}/form").json()
    fields = {f["name"]: f for f in form["fields"]}
    assert fields["total_asset_value"]["type"] == "number" and fields["total_asset_value"]["label"] == "总资产价值"
    assert fields["registration_date"]["type"] == "date"
    assert fields["tm_chat_agents"]["type"] == "list"
    assert "date" in fields["user_level"]["rule_types"]  # a text field may be compared as a date
    assert {t["type"]: tuple(t["operators"]) for t in form["types"]} == OPERATORS_BY_TYPE
    assert form["operators"]["in_range"]["value"] == "range" and form["operators"]["is_null"]["value"] == "none"
    assert [logic["logic"] for logic in form["logics"]] == ["AND", "OR", "NOT"]


def test_validation_names_the_json_path_of_each_problem(admin):
    client, _ = admin
    draft = rule(leaf("total_asset_value", ">=", "abc"),
                 rule(leaf("age", "in_range", [30, 18]), leaf("no_such_field", "=", 1), logic="OR"))
    answer = client.call("POST", f"{ADMIN}/validate", body={"rule": draft}).json()
    paths = {p["path"]: p["message"] for p in answer["problems"]}
    assert answer["ok"] is False
    assert "needs a number" in paths["$.conditions[0].value"]
    assert "low <= high" in paths["$.conditions[1].conditions[0].value"]
    assert "unknown field 'no_such_field'" in paths["$.conditions[1].conditions[1].field"]
    good = client.call("POST", f"{ADMIN}/validate", body={"rule": rule(leaf("age", ">", 20))}).json()
    assert good == {"ok": True, "problems": []}


def test_a_refused_rule_writes_nothing(admin):
    client, engine = admin
    before = client.call("GET", f"{ADMIN}/tags").json()["total"]
    refused = client.call("POST", f"{ADMIN}/tags", body={
        "tag_id": 500, "tag_name": "坏规则", "rule": rule(leaf("age", "contains", "x"))})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail["field"] == "rule"
    assert detail["problems"][0]["path"] == "$.conditions[0].operator"
    assert client.call("GET", f"{ADMIN}/tags").json()["total"] == before
    assert tag_audit_rows(engine, 500) == []
    nameless = client.call("POST", f"{ADMIN}/tags", body={"tag_name": "  ", "rule": rule(leaf("age", ">", 1))})
    assert nameless.status_code == 422 and nameless.json()["detail"]["field"] == "tag_name"


def test_create_edit_and_switch_leave_one_audit_row_each_with_the_actor(admin):
    client, engine = admin
    first = rule(leaf("total_asset_value", ">=", 50000), rule(leaf("age", "in_range", [18, 30]),
                                                             leaf("user_level", "in", ["VIP2", "VIP3"], "string"),
                                                             logic="OR"))
    created = client.call("POST", f"{ADMIN}/tags", key=ALICE, body={
        "tag_id": 601, "tag_name": "高资产年轻VIP", "category": "页面测试", "description": "d", "rule": first})
    assert created.status_code == 201, created.text
    tag = created.json()["tag"]
    assert tag["is_active"] is True and tag["rule"] == first and tag["last_change"]["actor"] == "alice"
    # the runs load what the page wrote
    assert {t.tag_id: t.rule for t in load_tags(engine, [601])} == {601: first}
    assert "页面测试" in client.call("GET", f"{ADMIN}/form").json()["categories"]

    again = client.call("POST", f"{ADMIN}/tags", body={"tag_id": 601, "tag_name": "x", "rule": first})
    assert again.status_code == 409 and again.json()["detail"]["field"] == "tag_id"

    second = rule(leaf("total_asset_value", ">=", 80000))
    edited = client.call("PUT", f"{ADMIN}/tags/601", key=BOB, body={
        "tag_name": "高资产", "category": "页面测试", "description": "d", "rule": second,
        "base_version": tag["version"]})
    assert edited.status_code == 200 and edited.json()["changed"] is True
    stale = client.call("PUT", f"{ADMIN}/tags/601", key=ALICE, body={
        "tag_name": "别的名字", "rule": first, "base_version": tag["version"]})
    assert stale.status_code == 409 and "bob" in stale.json()["detail"]["message"]
    current = edited.json()["tag"]
    same = client.call("PUT", f"{ADMIN}/tags/601", body={
        "tag_name": "高资产", "category": "页面测试", "description": "d", "rule": second,
        "base_version": current["version"]})
    assert same.json()["changed"] is False

    off = client.call("POST", f"{ADMIN}/tags/601/deactivate", key=BOB, body={"base_version": current["version"]})
    assert off.status_code == 200 and off.json()["tag"]["is_active"] is False
    assert load_tags(engine, [601]) == []
    on = client.call("POST", f"{ADMIN}/tags/601/activate", key=SERVICE_KEY)
    assert on.json()["tag"]["is_active"] is True

    rows = client.call("GET", f"{ADMIN}/audit?tag_id=601").json()["rows"]
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("activate", "YD_API_KEY"), ("deactivate", "bob"), ("edit", "bob"), ("create", "alice")]
    create_row, edit_row = rows[3], rows[2]
    assert create_row["before"] is None and create_row["after"]["rule"] == first
    assert edit_row["before"]["rule"] == first and edit_row["after"]["rule"] == second
    assert edit_row["before"]["tag_name"] == "高资产年轻VIP" and edit_row["after"]["tag_name"] == "高资产"
    assert edit_row["changed_at"].endswith("Z")


def test_a_tag_whose_rule_is_wrong_cannot_be_activated(admin):
    client, engine = admin
    save_tag(engine, 602, "手写的坏规则", rule(leaf("income", ">", 1)), active=False)  # as if inserted by hand
    listed = {t["tag_id"]: t for t in client.call("GET", f"{ADMIN}/tags").json()["tags"]}
    assert listed[602]["is_active"] is False
    assert listed[602]["problems"][0]["path"] == "$.conditions[0].field"
    refused = client.call("POST", f"{ADMIN}/tags/602/activate")
    assert refused.status_code == 422 and refused.json()["detail"]["problems"][0]["path"] == "$.conditions[0].field"
    assert tag_audit_rows(engine, 602) == []
    assert client.call("POST", f"{ADMIN}/tags/999999/activate").status_code == 404


def test_runs_of_inactive_or_unknown_tags_are_refused_before_dagster_is_asked(admin):
    client, _ = admin
    refused = client.call("POST", f"{ADMIN}/runs", body={"tag_ids": [602, 424242]})
    assert refused.status_code == 422
    assert "424242" in refused.json()["detail"]["message"] and "602" in refused.json()["detail"]["message"]
    assert client.call("POST", f"{ADMIN}/runs", body={"tag_ids": []}).status_code == 422


def test_history_says_the_webserver_is_down(admin):
    client, _ = admin
    answer = client.call("GET", f"{ADMIN}/history")
    assert answer.status_code == 503 and "not reachable" in answer.json()["detail"]


def test_keys_never_reach_the_log(admin):
    client, _ = admin
    client.call("GET", f"{ADMIN}/tags", key=BOB)
    log = client.logs.read_text(errors="replace")
    assert f"{ADMIN}/tags" in log
    assert ALICE not in log and BOB not in log and SERVICE_KEY not in log
