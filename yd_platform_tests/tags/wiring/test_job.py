"""user_tags_job in-process on the embedded default: ODS parquet in the local object store,
rules in the SQLite app database, the three launch modes chosen by run config."""

import pytest

from yd_platform.definitions import build_definitions
from yd_platform.deployment import app_db_url
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tags.tables import read_user_tags, save_tag
from yd_platform_tests.tag_rules import leaf, rule
from yd_platform_tests.tags.ods_data import write_chat_ods

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(yd_home, catalog, instance, spark):
    write_chat_ods(object_store_from_env().client(), catalog)
    engine = engine_for(app_db_url())
    save_tag(engine, 1, "多次咨询", rule(leaf("chat_sessions", ">=", 2)), category="行为分析")
    save_tag(engine, 2, "话多", rule(leaf("chat_messages", ">=", 15)), category="行为分析")
    save_tag(engine, 3, "今日咨询", rule(leaf("last_chat_at", "recent_days", 0, "date")), category="生命周期")
    save_tag(engine, 4, "坏规则", rule(leaf("income", ">", 1)), category="价值管理")
    save_tag(engine, 5, "找过X", rule(leaf("tm_chat_agents", "contains", "agent_x", "list")), category="行为分析")
    job = build_definitions(catalog).resolve_job_def("user_tags_job")
    return job, engine, instance


def launch(job, instance, **config):
    result = job.execute_in_process(run_config={"ops": {"user_tags": {"config": config}}}, instance=instance,
                                    raise_on_error=False)
    return result


def meta(result):
    (mat,) = result.asset_materializations_for_node("user_tags")
    return {k: v.value for k, v in mat.metadata.items()}


def per_tag_of(result):
    """The run's per-tag table (users matched, hit rate, added, removed) by tag id."""
    (mat,) = result.asset_materializations_for_node("user_tags")
    return {row["tag_id"]: row for row in mat.metadata["per_tag"].data}


def tags_of(engine):
    return {user: row["tag_ids"] for user, row in read_user_tags(engine).items()}


def test_three_launch_modes(setup):
    job, engine, instance = setup

    # task-all: every valid tag; the invalid one is skipped and reported
    result = launch(job, instance, today="2025-10-02")
    assert result.success
    m = meta(result)
    assert m["mode"] == "task-all" and m["evaluated_tag_ids"] == "1, 2, 3, 5"
    assert m["invalid_rules"] == 1
    assert m["rule_problems"].startswith("tag 4: $.conditions[0].field: unknown field 'income'")
    assert tags_of(engine) == {"b1": [1, 2, 3], "b3": [2, 3, 5]}
    per_tag = per_tag_of(result)
    assert {t: (r["users_matched"], r["users_added"], r["users_removed"]) for t, r in per_tag.items()} == {
        1: (1, 1, 0), 2: (2, 2, 0), 3: (2, 2, 0), 5: (1, 1, 0)}
    assert per_tag[5]["tag_name"] == "找过X" and m["tag_2_matched"] == 2
    assert per_tag[2]["hit_rate"] == round(2 / m["users_evaluated"], 4) and m["matched_users"] == 2
    before = read_user_tags(engine)
    assert before["b3"]["tag_details"]["5"] == {"tag_name": "找过X"}

    # the same run again changes nothing: same inputs, so user_tags is not even compared
    result = launch(job, instance, today="2025-10-02")
    again = meta(result)
    assert again["rows_updated"] == 0 and again["rows_inserted"] == 0 and "unchanged_since" in again
    assert again["matched_users"] == m["matched_users"] and again["tag_2_matched"] == 2
    assert {t: (r["users_added"], r["users_removed"]) for t, r in per_tag_of(result).items()} == {
        t: (0, 0) for t in (1, 2, 3, 5)}
    assert read_user_tags(engine) == before
    forced = meta(launch(job, instance, today="2025-10-02", force=True))  # compares, finds nothing to write
    assert "unchanged_since" not in forced and forced["rows_unchanged"] == 2 and forced["rows_updated"] == 0

    # task-tags: only tag 3 is recomputed (nobody chatted on 10-03); other tags stay
    result = launch(job, instance, today="2025-10-03", tag_ids=[3])
    assert meta(result)["mode"] == "task-tags" and meta(result)["rows_updated"] == 2
    assert list(per_tag_of(result)) == [3] and per_tag_of(result)[3]["users_removed"] == 2
    assert tags_of(engine) == {"b1": [1, 2], "b3": [2, 5]}

    # task-users: every tag for b3 only; b1 is not touched
    b1_before = read_user_tags(engine)["b1"]
    result = launch(job, instance, today="2025-10-02", user_ids=["b3"])
    assert meta(result)["mode"] == "task-users"
    assert tags_of(engine) == {"b1": [1, 2], "b3": [2, 3, 5]}
    after = read_user_tags(engine)
    assert after["b1"] == b1_before
    assert after["b3"]["created_time"] == before["b3"]["created_time"]

    # task-users with tag ids
    result = launch(job, instance, today="2025-10-03", tag_ids=[3, 5], user_ids=["b3", "b1"])
    assert tags_of(engine) == {"b1": [1, 2], "b3": [2, 5]}


def test_unknown_tag_ids_fail_the_run(setup):
    job, engine, instance = setup
    result = launch(job, instance, tag_ids=[99])
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error.message
    assert "none of the requested tag ids [99]" in failure
