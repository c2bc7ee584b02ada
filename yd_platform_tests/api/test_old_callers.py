"""The old tag service's callers, unchanged, against the real API, webserver and daemon:
the requests of the old back-end (no key, on loopback, as the old service ran) start the
runs they meant, report in the old shapes and words, and the old refusals still hold,
with nothing launched."""

from __future__ import annotations

import pytest
import requests
import yaml

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.tags.tables import read_user_tags
from yd_platform_tests.api.conftest import ApiStack
from yd_platform_tests.processes import log_tail

pytestmark = pytest.mark.slow
TODAY = "2025-10-02"  # the day after the test chats
OLD_TASK_FIELDS = {"task_id", "tag_ids", "user_ids", "mode", "environment", "status", "submitted_at",
                   "started_at", "completed_at", "error", "result"}
OLD_WORDS = {"submitted", "running", "completed", "failed"}


def _recorded(api: ApiStack, run_id: str) -> tuple[dict, dict]:
    """The op config and the tags the instance recorded for a run."""
    run = DagsterApi(api.dagster_url).run(run_id)
    config = yaml.safe_load(run["runConfigYaml"])["ops"]["user_tags"]["config"]
    return config, {t["key"]: t["value"] for t in run["tags"]}


def test_health_and_available_tags_in_the_old_shapes(keyless_api: ApiStack, seeded):
    health = requests.get(f"{keyless_api.api_url}/health", timeout=60).json()
    assert health["status"] in ("healthy", "unhealthy") and health["environment"] == "embedded"
    assert health["timestamp"]

    body = requests.get(f"{keyless_api.api_url}/api/v1/tags/available", timeout=60).json()
    assert body["success"] is True
    old = {t["tag_id"]: t for t in body["available_tags"]}
    assert {"tag_id", "task_class", "description"} <= set(old[1])
    assert old[1]["description"] == "高净值用户" and old[8]["description"] == "最近活跃用户"
    assert old[101]["task_class"] == "user_tags_job" and old[101]["category"] == "行为分析"
    assert {t["tag_id"] for t in body["tags"]} == set(old)   # the full list beside the old one


def test_old_trigger_runs_and_reports_as_before(keyless_api: ApiStack, seeded):
    url = keyless_api.api_url
    # the request of the old back-end, byte for byte: tags for every user
    first = requests.post(f"{url}/api/v1/tags/trigger", json={"tag_ids": [1, 2, 3], "mode": "full"}, timeout=60)
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["success"] is True and answer["message"] == "标签任务已成功提交"
    data = answer["data"]
    assert (data["tag_ids"], data["user_ids"], data["mode"], data["environment"]) == ([1, 2, 3], None, "full",
                                                                                      "embedded")
    assert data["submitted_at"]
    config, tags = _recorded(keyless_api, answer["task_id"])
    assert config == {"tag_ids": [1, 2, 3], "user_ids": []}
    assert tags["yd/tags_mode"] == "task-tags" and tags["yd/request_mode"] == "full"

    # with user ids: only those users; incremental computes what full computes
    second = requests.post(f"{url}/api/v1/tags/trigger", timeout=60, json={
        "tag_ids": [101, 102], "user_ids": ["b1", "b2"], "mode": "incremental", "today": TODAY})
    assert second.status_code == 202, second.text
    second_id = second.json()["task_id"]
    config, tags = _recorded(keyless_api, second_id)
    assert config | {"today": str(config["today"])} == {"tag_ids": [101, 102], "user_ids": ["b1", "b2"],
                                                        "today": TODAY}
    assert tags["yd/tags_mode"] == "task-users" and tags["yd/request_mode"] == "incremental"

    # the old polling loop, on the old path, until completed or failed
    seen: list[str] = []
    done = keyless_api.wait_done(answer["task_id"], path="/api/v1/tasks", seen=seen)
    assert set(seen) <= OLD_WORDS and done["status"] == "completed", log_tail(keyless_api.logs)
    assert OLD_TASK_FIELDS <= set(done)
    assert done["tag_ids"] == [1, 2, 3] and done["user_ids"] is None and done["mode"] == "full"
    assert done["error"] is None and done["started_at"] and done["completed_at"]
    total = done["result"]["total_users"]
    assert done["result"]["message"] == f"Successfully processed {total} users"
    assert done["result"]["matched_users"] == total and "per_tag" in done["result"]

    done = keyless_api.wait_done(second_id, path="/api/v1/tasks", seen=seen)
    assert done["status"] == "completed", log_tail(keyless_api.logs)
    assert done["mode"] == "incremental" and done["scope"] == "task-users" and done["user_ids"] == ["b1", "b2"]
    # b1: 3 sessions and 18 messages (both tags); b2: one short chat (none)
    assert done["result"]["total_users"] == 1 and done["result"]["message"] == "Successfully processed 1 users"
    assert read_user_tags(seeded, ["b1", "b2"])["b1"]["tag_ids"] == [101, 102]

    listed = requests.get(f"{url}/api/v1/tasks", timeout=60).json()
    assert listed["success"] is True
    newest = listed["tasks"][:2]
    assert [t["task_id"] for t in newest] == [second_id, answer["task_id"]]
    assert all(OLD_TASK_FIELDS <= set(t) and t["status"] == "completed" for t in newest)
    only_done = requests.get(f"{url}/api/v1/tasks", params={"status": "completed"}, timeout=60).json()["tasks"]
    assert {t["status"] for t in only_done} == {"completed"}


@pytest.mark.parametrize("body, error, message", [
    ({}, "tag_ids is required", "标签ID列表是必需的"),
    ({"user_ids": ["b1"], "mode": "full"}, "tag_ids is required", "标签ID列表是必需的"),
    ({"tag_ids": []}, "tag_ids must be a non-empty list", "标签ID必须是非空列表"),
    ({"tag_ids": 3}, "tag_ids must be a non-empty list", "标签ID必须是非空列表"),
    ({"tag_ids": [1, 999]}, "Invalid tag_ids: [999]", "无效的标签ID: [999]"),
])
def test_old_refusals_hold_and_launch_nothing(keyless_api: ApiStack, seeded, body, error, message):
    before = keyless_api.run_ids()
    response = requests.post(f"{keyless_api.api_url}/api/v1/tags/trigger", json=body, timeout=60)
    assert response.status_code == 400
    answer = response.json()
    assert (answer["success"], answer["error"], answer["message"]) == (False, error, message)
    if "Invalid" in error:
        assert {1, 2, 3, 101, 102} <= set(answer["available_tag_ids"]) and 999 not in answer["available_tag_ids"]
    assert keyless_api.run_ids() == before


def test_unknown_task_on_the_old_path(keyless_api: ApiStack):
    response = requests.get(f"{keyless_api.api_url}/api/v1/tasks/no-such-task/status", timeout=60)
    assert response.status_code == 404
    assert response.json()["error"] == "Task not found" and response.json()["message"] == "任务不存在"
