"""The HTTP API against a real webserver, daemon and app database: the old tag service's
calls start real user_tags runs and report them; errors are 401/404/422/503 as documented."""

from __future__ import annotations

import pytest

from yd_platform.tags.tables import read_user_tags
from yd_platform_tests.api.conftest import ApiStack, start_api
from yd_platform_tests.processes import free_port, log_tail, stop_group

pytestmark = pytest.mark.slow
TODAY = "2025-10-02"  # the day after the test chats


def test_health_names_webserver_daemon_and_app_database(api_stack: ApiStack, seeded):
    response = api_stack.wait_healthy()
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "healthy" and body["environment"] == "embedded" and body["timestamp"]
    assert body["checks"]["webserver"]["url"] == api_stack.dagster_url
    assert body["checks"]["daemon"]["daemons"]["QUEUED_RUN_COORDINATOR"] is True
    assert body["checks"]["app_database"] == {"ok": True, "dialect": "sqlite"}


def test_key_is_required_except_for_health(api_stack: ApiStack):
    assert api_stack.get("/api/v1/tags/available", key=None).status_code == 401
    wrong = api_stack.get("/api/v1/tags/available", key="not-the-key")
    assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["detail"]
    assert api_stack.post("/api/v1/tags/trigger", {"mode": "task-all"}, key=None).status_code == 401
    assert api_stack.get("/health", key=None).status_code in (200, 503)


def test_docs_list_every_endpoint(api_stack: ApiStack):
    assert api_stack.get("/docs", key=None).status_code == 200
    paths = api_stack.get("/openapi.json", key=None).json()["paths"]
    for path in ("/api/v1/tags/trigger", "/api/v1/tags/tasks/{task_id}/status", "/api/v1/tags/tasks",
                 "/api/v1/tags/available", "/health"):
        assert path in paths


@pytest.mark.parametrize("body, field", [
    ({"mode": "task-tags"}, "tag_ids"),
    ({"mode": "task-tags", "tag_ids": ["one"]}, "tag_ids"),
    ({"mode": "task-users", "tag_ids": [1]}, "user_ids"),
    ({"mode": "task-all", "user_ids": ["b1"]}, "user_ids"),
    ({"mode": "task-all", "today": "yesterday"}, "today"),
])
def test_invalid_new_mode_bodies_are_422_naming_the_field(api_stack: ApiStack, body, field):
    before = api_stack.run_ids()
    response = api_stack.post("/api/v1/tags/trigger", body)
    assert response.status_code == 422
    assert field in {e["loc"][1] for e in response.json()["detail"]}
    assert api_stack.run_ids() == before


def test_unknown_task_is_404(api_stack: ApiStack):
    for path in ("/api/v1/tags/tasks", "/api/v1/tasks"):
        response = api_stack.get(f"{path}/00000000-0000-0000-0000-000000000000/status")
        assert response.status_code == 404
        body = response.json()
        assert "00000000-0000-0000-0000-000000000000" in body["detail"]
        assert body | {"detail": None} == {"success": False, "error": "Task not found", "message": "任务不存在",
                                           "detail": None}


def test_available_tags_with_categories(api_stack: ApiStack, seeded):
    body = api_stack.get("/api/v1/tags/available").json()
    by_id = {t["tag_id"]: t for t in body["tags"]}
    assert by_id[101]["tag_name"] == "多次咨询" and by_id[101]["tag_category"] == "行为分析"
    assert by_id[102]["description"] == "many messages"
    assert by_id[102]["rule"]["conditions"][0]["field"] == "chat_messages"
    assert "行为分析" in {c["category_name"] for c in body["categories"]}


def test_trigger_in_each_mode_runs_to_success(api_stack: ApiStack, seeded):
    # task-all: every tag (ours and the shipped ones) for every user, as of the chats' days
    task = api_stack.post("/api/v1/tags/trigger", {"mode": "task-all", "today": TODAY})
    assert task.status_code == 202, task.text
    task_id = task.json()["task_id"]
    status = api_stack.wait_done(task_id)
    assert status["status"] == "completed", log_tail(api_stack.logs)
    assert status["mode"] == "task-all" and status["started_at"] and status["completed_at"]
    assert status["result"]["matched_users"] == 2
    per_tag = {row["tag_id"]: row for row in status["result"]["per_tag"]}
    # b1: 3 sessions, 18 messages; b3: 1 session, 20 messages; b2: 1 session, 1 message
    assert per_tag[101]["users_matched"] == 1 and per_tag[102]["users_matched"] == 2
    tags = {u: r["tag_ids"] for u, r in read_user_tags(seeded).items()}
    assert tags == {"b1": [101, 102], "b3": [102]}

    # task-tags then task-users: their own run ids, found in the recent-task list
    ids = []
    for body in ({"mode": "task-tags", "tag_ids": [102], "today": TODAY},
                 {"mode": "task-users", "user_ids": ["b3"], "today": TODAY}):
        response = api_stack.post("/api/v1/tags/trigger", body)
        assert response.status_code == 202
        ids.append(response.json()["task_id"])
        done = api_stack.wait_done(ids[-1])
        assert done["status"] == "completed" and done["mode"] == body["mode"]
        assert done.get("tag_ids", []) == body.get("tag_ids", [])
        assert done["result"]["rows_inserted"] == done["result"]["rows_updated"] == 0  # nothing changed
    recent = api_stack.get("/api/v1/tags/tasks").json()["tasks"]
    assert [t["task_id"] for t in recent[:3]] == [ids[1], ids[0], task_id]
    # the old callers' path answers the same
    assert api_stack.get(f"/api/v1/tasks/{task_id}/status").json()["status"]["status"] == "completed"


def test_webserver_or_app_database_down_is_503_with_its_address(api_stack: ApiStack, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    dead_db = f"mysql+pymysql://yd:secret@127.0.0.1:{free_port()}/tags"
    env = {**api_stack.env, "YD_UI_URL": dead, "YD_APP_DB_URL": dead_db}
    proc, url = start_api(env, tmp_path / "api-dead.log")
    try:
        import requests

        key = {"X-API-Key": env["YD_API_KEY"]}
        response = requests.post(f"{url}/api/v1/tags/trigger", json={"mode": "task-all"}, headers=key, timeout=30)
        assert response.status_code == 503
        assert dead in response.json()["detail"] and "not reachable" in response.json()["detail"]
        # an old caller's body needs the tag list first: the app database is named, its password not
        response = requests.post(f"{url}/api/v1/tags/trigger", json={"tag_ids": [1]}, headers=key, timeout=60)
        body = response.json()
        assert response.status_code == 503 and body["success"] is False
        assert "app database at mysql+pymysql://yd:***@127.0.0.1" in body["error"] and "secret" not in body["error"]
        health = requests.get(f"{url}/health", timeout=60)
        checks = health.json()["checks"]
        assert health.status_code == 503 and checks["webserver"]["ok"] is False
        assert checks["app_database"]["ok"] is False
    finally:
        stop_group(proc)


def test_without_a_key_the_service_stays_on_loopback(api_stack: ApiStack, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in api_stack.env.items() if k != "YD_API_KEY"}
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "yd-platform"), "api", "--host", "0.0.0.0",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert "YD_API_KEY is not set" in first and "127.0.0.1" in first
    finally:
        stop_group(proc)
