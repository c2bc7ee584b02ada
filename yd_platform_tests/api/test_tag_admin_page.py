"""The tag page in headless Chromium, as operations staff use it, against a real
`yd-platform api` process on a MariaDB app database, a Dagster webserver and daemon, and
demo users published as the ODS feature tables: a tag with a nested group is written in
the form, a bad value is refused at its field, the draft is tried in Spark, saved (audit
row), run through the API's trigger and followed to the end; its users are then in
user_tags. A screenshot of each state is kept under $YD_TEST_ARTIFACTS/tag_admin (default
.tmp-artifacts/tag_admin)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests
import sqlalchemy as sa

from yd_platform.catalog import load_catalog
from yd_platform.catalog.periods import period_from_key
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.platforms.warehouse import WarehouseCollector
from yd_platform.collect.raw_asset import store_raw
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.warehouse_db import warehouse_url
from yd_platform.tables.ods import publish_partition
from yd_platform.tags.seed.demo_data import feature_tables, write_demo_data
from yd_platform.tags.tables import read_user_tags, tag_audit_rows
from yd_platform_tests.api.conftest import CLEARED, INSTANCE_YAML, start_api
from yd_platform_tests.artifacts import artifacts_folder
from yd_platform_tests.databases import scratch_database
from yd_platform_tests.processes import (
    EVENT_DEADLINE_SECONDS,
    free_port,
    log_tail,
    migrate_instance,
    start_daemon,
    start_webserver,
    stop_group,
    wait_http,
)

pytestmark = pytest.mark.slow

DAY = date(2025, 10, 2)
SERVICE_KEY, ALICE, BOB = "svc-7d21", "alice-0b6e", "bob-c4f8"
TAG_ID = 901
RULE = {"logic": "AND", "conditions": [
    {"field": "total_asset_value", "operator": ">=", "type": "number", "value": 50000},
    {"logic": "OR", "conditions": [
        {"field": "user_level", "operator": "in", "type": "string", "value": ["VIP2", "VIP3"]},
        {"field": "age", "operator": "in_range", "type": "number", "value": [18, 30]},
    ]},
]}
WAIT_MS = EVENT_DEADLINE_SECONDS * 1000
RUN_WAIT_MS = 1500 * 1000  # a run starts a code server and Spark on a loaded machine
RUN_ENDED = "[data-testid=run-status][data-status=completed], [data-testid=run-status][data-status=failed]"


@dataclass
class Stack:
    api_url: str
    home: Path
    engine: sa.Engine
    logs: Path



def publish_demo_users(catalog) -> None:
    """400 demo users in the warehouse, collected, merged and published as ODS for DAY."""
    write_demo_data(warehouse_url(), catalog, users=400, seed=5, today=DAY)
    store = object_store_from_env().client()
    key = DAY.isoformat()
    for ds in feature_tables(catalog).values():
        got = WarehouseCollector().collect(CollectJob(ds, period_from_key(ds.cadence, key), "dw_main", "dw"))
        store_raw(store, ds, key, "dw_main", got.data, got.report.ext)
        merge_partition(store, ds, key)
        publish_partition(store, ds, key)


def expected_users(home: Path, assets: int = 50000) -> list[str]:
    """RULE (with `assets` as its threshold) written by hand in DuckDB SQL over the published parquet."""
    def files(table: str) -> str:
        return f"read_parquet('{home}/objects/ods/dw/{table}/dt={DAY.isoformat()}/*.parquet')"

    sql = (f"select b.user_id from {files('user_basic_info')} b join {files('user_asset_summary')} a "
           f"using (user_id) where a.total_asset_value >= {assets} "
           "and (b.user_level in ('VIP2', 'VIP3') or b.age between 18 and 30)")
    return sorted(row[0] for row in duckdb.sql(sql).fetchall())


def ages_by_user(home: Path) -> dict[str, int | None]:
    files = f"read_parquet('{home}/objects/ods/dw/user_basic_info/dt={DAY.isoformat()}/*.parquet')"
    return dict(duckdb.sql(f"select user_id, age from {files}").fetchall())


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("tag_admin_page")
    home, dagster_home, logs = root / "yd_home", root / "dagster_home", root / "logs"
    for path in (home, dagster_home, logs):
        path.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    with scratch_database() as app_db:
        cleared = CLEARED + ("YD_API_KEYS", "YD_WAREHOUSE_URL")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("YD_HOME", str(home))
            for name in cleared:
                mp.delenv(name, raising=False)
            publish_demo_users(load_catalog())
        env = {k: v for k, v in os.environ.items() if k not in cleared}
        port = free_port()
        env.update(YD_HOME=str(home), DAGSTER_HOME=str(dagster_home), YD_APP_DB_URL=app_db, YD_API_KEY=SERVICE_KEY,
                   YD_API_KEYS=f"alice:{ALICE},bob:{BOB}", YD_UI_URL=f"http://127.0.0.1:{port}",
                   SPARK_LOCAL_IP="127.0.0.1", PYTHONUNBUFFERED="1", DAGSTER_GRPC_TIMEOUT_SECONDS="300")
        migrate_instance(env, logs)  # done before the webserver and the daemon open the instance together
        procs = [start_webserver(env, port, logs), start_daemon(env, logs)]
        engine = engine_for(app_db)
        try:
            wait_http(f"http://127.0.0.1:{port}/server_info", procs[0])
            api, api_url = start_api(env, logs / "api.log")
            procs.append(api)
            yield Stack(api_url, home, engine, logs)
        finally:
            for proc in reversed(procs):
                stop_group(proc)
            engine.dispose()


@dataclass
class Seen:
    """What the browser did besides showing the page: the URLs it asked for, script errors."""

    requested: list[str]
    errors: list[str]


@pytest.fixture
def seen() -> Seen:
    return Seen([], [])


@pytest.fixture
def page(chromium_browser, stack, seen):
    context = chromium_browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN",
                                           timezone_id="Asia/Shanghai")
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.on("request", lambda request: seen.requested.append(request.url))
    tab.on("pageerror", lambda error: seen.errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


def shot(page, name: str, locator=None) -> None:
    path = artifacts_folder("tag_admin") / f"{name}.png"
    (locator or page).screenshot(path=str(path), **({} if locator else {"full_page": True}))


def sign_in(page, stack: Stack, key: str) -> None:
    page.goto(f"{stack.api_url}/tags/admin")
    page.wait_for_selector("#key-dialog[open]")
    page.fill("#key-input", key)
    page.click("#key-submit")
    page.wait_for_selector("#key-dialog", state="hidden")


def condition(page, group: int, index: int):
    return page.locator("#rule-builder [data-testid=group]").nth(group).locator(
        ":scope > .children > [data-testid=condition]").nth(index)


def test_a_tag_is_written_tried_saved_and_run_from_the_page(page, stack, seen):
    expected = expected_users(stack.home)
    assert 0 < len(expected) < 400, "the demo users should split on this rule"

    page.goto(f"{stack.api_url}/tags/admin")
    page.wait_for_selector("#key-dialog[open]")
    shot(page, "01_key_prompt")
    page.fill("#key-input", ALICE)
    page.click("#key-submit")
    page.wait_for_selector("#key-dialog", state="hidden")
    assert page.inner_text("[data-testid=actor]") == "操作人：alice"
    page.fill("#today", DAY.isoformat())

    # a new tag: first a number compared with a word, refused at the value's box
    page.click("#new-tag")
    page.fill("#f-tag_id", str(TAG_ID))
    page.fill("#f-tag_name", "高资产年轻或VIP")
    page.fill("#f-category", "页面新建")
    page.fill("#f-description", "总资产不低于5万，且是VIP2/VIP3或18-30岁")
    condition(page, 0, 0).locator("select.field").select_option("total_asset_value")
    condition(page, 0, 0).locator("input.value").fill("abc")
    error = page.locator('#rule-builder [data-err="$.conditions[0].value"]')
    error.locator("text=needs a number").wait_for()
    # the status line says so too, once the last check of the typing has answered (an
    # input event still in flight shows "checking" until then)
    page.wait_for_selector("#rule-status.bad")
    assert condition(page, 0, 0).locator("input.value").get_attribute("aria-invalid") == "true"
    assert page.locator("#rule-builder .err div").count() == 1  # nowhere else
    shot(page, "02_bad_value_at_its_field", page.locator("#editor"))
    condition(page, 0, 0).locator("input.value").fill("50000")

    # a nested OR group of two conditions
    page.locator("#rule-builder [data-action=add-group]").first.click()
    condition(page, 1, 0).locator("select.field").select_option("user_level")
    condition(page, 1, 0).locator("select.operator").select_option("in")
    condition(page, 1, 0).locator("input.value").fill("VIP2, VIP3")
    page.locator("#rule-builder [data-testid=group]").nth(1).locator("[data-action=add-condition]").click()
    condition(page, 1, 1).locator("select.field").select_option("age")
    condition(page, 1, 1).locator("select.operator").select_option("in_range")
    condition(page, 1, 1).locator("input.value").nth(0).fill("18")
    condition(page, 1, 1).locator("input.value").nth(1).fill("30")
    page.wait_for_selector("#rule-status.ok")
    assert page.locator("#rule-builder .err div").count() == 0
    assert json.loads(page.inner_text("[data-testid=rule-json]")) == RULE
    shot(page, "03_nested_rule_valid", page.locator("#editor"))

    # tried in Spark on the published users before anything is saved
    page.click("#try-btn")
    matched = page.locator("[data-testid=try-matched] b")
    matched.wait_for(timeout=WAIT_MS)
    assert int(matched.inner_text().replace(",", "")) == len(expected)
    sample = page.locator("[data-testid=sample-matched] tbody tr td:first-child").all_inner_texts()
    assert sample == expected[:20]
    assert tag_audit_rows(stack.engine, TAG_ID) == []
    shot(page, "04_try_result", page.locator("#editor"))

    # saved: the audit names alice, on the page and in the table
    page.click("#save-btn")
    page.wait_for_selector(f"#editor-title:has-text('编辑标签 #{TAG_ID}')")
    audit_row = page.locator("#audit-all tr[data-audit-id]").first
    audit_row.locator(f"[data-col=tag]:has-text('#{TAG_ID} 高资产年轻或VIP')").wait_for()
    assert audit_row.locator("[data-col=actor]").inner_text() == "alice"
    assert audit_row.locator("[data-col=action]").inner_text() == "新建"
    (row,) = tag_audit_rows(stack.engine, TAG_ID)
    assert (row["action"], row["actor"], row["before"]) == ("create", "alice", None)
    assert row["after"]["rule"] == RULE and row["after"]["is_active"] is True
    shot(page, "05_saved_with_audit")

    # run: the saved tag is selected; the run is followed until it completes
    listed = page.locator(f"#tag-rows tr[data-tag-id='{TAG_ID}']")
    assert listed.locator("input[type=checkbox]").is_checked()
    page.click("#run-selected")
    page.wait_for_selector("#run-panel:not([hidden]), #notice.bad")
    assert page.locator("#run-panel").is_visible(), page.inner_text("#notice") + "\n" + log_tail(stack.logs, 4000)
    shot(page, "06_run_started", page.locator("#run-panel"))
    finished = page.locator(RUN_ENDED)
    finished.wait_for(timeout=RUN_WAIT_MS)
    shot(page, "07_run_finished", page.locator("#run-panel"))
    assert finished.get_attribute("data-status") == "completed", (
        page.inner_text("#run-body") + "\n" + log_tail(stack.logs, 4000))
    per_tag = page.locator(f"[data-testid=run-per-tag] tr[data-tag-id='{TAG_ID}'] [data-col=matched]")
    assert int(per_tag.inner_text().replace(",", "")) == len(expected)

    # its users are in user_tags, and the list shows the run's count and the trend
    holders = sorted(u for u, r in read_user_tags(stack.engine).items() if TAG_ID in r["tag_ids"])
    assert holders == expected
    listed.locator(f"[data-col=matched]:has-text('{len(expected):,}')").wait_for()
    assert listed.locator("svg.spark").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "08_list_after_run")

    # edited and run again: the history holds both runs, the list the newest count
    richer = expected_users(stack.home, assets=100000)
    assert 0 < len(richer) < len(expected)
    page.locator("#editor").scroll_into_view_if_needed()
    condition(page, 0, 0).locator("input.value").fill("100000")
    page.wait_for_selector("#rule-status.ok")
    page.click("#save-btn")
    page.locator("#audit-all tr[data-audit-id]").first.locator("[data-col=action]:has-text('修改')").wait_for()
    edit_row = tag_audit_rows(stack.engine, TAG_ID)[0]
    assert (edit_row["action"], edit_row["actor"]) == ("edit", "alice")
    assert edit_row["before"]["rule"] == RULE
    assert edit_row["after"]["rule"]["conditions"][0]["value"] == 100000
    first_task = page.get_attribute("[data-testid=run-status]", "data-task")
    page.click("#run-selected")
    page.wait_for_selector(f"[data-testid=run-status]:not([data-task='{first_task}'])")
    second = page.locator(RUN_ENDED)
    second.wait_for(timeout=RUN_WAIT_MS)
    assert second.get_attribute("data-status") == "completed", (
        page.inner_text("#run-body") + "\n" + log_tail(stack.logs, 4000))
    listed.locator(f"[data-col=matched]:has-text('{len(richer):,}')").wait_for()
    page.locator("#tag-chart circle.count-dot").nth(1).wait_for()
    assert page.locator("#tag-chart circle.count-dot").count() == 2
    holders = sorted(u for u, r in read_user_tags(stack.engine).items() if TAG_ID in r["tag_ids"])
    assert holders == richer
    shot(page, "08b_history_of_two_runs", page.locator("#tag-extra"))

    # the key went only in headers: no URL and no log line holds it
    assert not [url for url in seen.requested if ALICE in url]
    assert ALICE not in (stack.logs / "api.log").read_text(errors="replace")
    assert seen.errors == []


def test_a_tag_is_switched_off_and_on_from_the_list_with_the_actor_recorded(page, stack, seen):
    created = requests.post(f"{stack.api_url}/api/v1/tags/admin/tags", headers={"X-API-Key": SERVICE_KEY}, json={
        "tag_id": 902, "tag_name": "开关测试", "rule": {"field": "age", "operator": ">", "value": 40,
                                                        "type": "number"}}, timeout=60)
    assert created.status_code == 201, created.text
    sign_in(page, stack, BOB)
    row = page.locator("#tag-rows tr[data-tag-id='902']")
    row.locator("button:has-text('停用')").click()
    row.locator(".badge.off").wait_for()
    assert row.locator("input[type=checkbox]").is_disabled()
    page.locator("#audit-all tr[data-audit-id]").first.locator("[data-col=action]:has-text('停用')").wait_for()
    row.locator("button:has-text('启用')").click()
    row.locator(".badge.on").wait_for()
    shot(page, "09_switched_off_and_on")
    actions = [(r["action"], r["actor"]) for r in tag_audit_rows(stack.engine, 902)]
    assert actions == [("activate", "bob"), ("deactivate", "bob"), ("create", "YD_API_KEY")]

    # a leaf saved as the whole rule opens in the form as a group of one condition
    row.locator("button:has-text('编辑')").click()
    page.wait_for_selector("#editor-title:has-text('编辑标签 #902')")
    assert condition(page, 0, 0).locator("select.field").input_value() == "age"
    assert condition(page, 0, 0).locator("input.value").input_value() == "40"
    shot(page, "10_edit_existing", page.locator("#editor"))

    # a stricter draft tried against the saved rule: nobody gains the tag, ages 41-50 lose it
    page.fill("#today", DAY.isoformat())
    condition(page, 0, 0).locator("input.value").fill("50")
    page.wait_for_selector("#rule-status.ok")
    page.click("#try-btn")
    page.locator("[data-testid=try-lost] b").wait_for(timeout=WAIT_MS)
    ages = ages_by_user(stack.home)
    lost = sorted(u for u, age in ages.items() if age is not None and 40 < age <= 50)
    assert int(page.inner_text("[data-testid=try-matched] b")) == sum(1 for a in ages.values() if a and a > 50)
    assert page.inner_text("[data-testid=try-gained] b") == "+0"
    assert page.inner_text("[data-testid=try-lost] b") == f"−{len(lost)}"
    assert page.locator("[data-testid=sample-lost] tbody tr td:first-child").all_inner_texts() == lost[:20]
    assert [(r["action"]) for r in tag_audit_rows(stack.engine, 902)] == ["activate", "deactivate", "create"]
    shot(page, "11_try_against_saved_rule", page.locator("#try-result"))
    assert seen.errors == []
