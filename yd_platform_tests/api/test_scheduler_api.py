"""The scheduler endpoints against the real webserver and daemon: the 37 services with
their schedules' next ticks, a trigger that really runs the service, and the metrics of
its run in JSON and Prometheus text."""

from __future__ import annotations

import pytest

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.pms.config import load_pms_config
from yd_platform.resources.dagster_webserver import CODE_LOCATION, REPOSITORY, RunLauncher
from yd_platform_tests.api.conftest import ApiStack
from yd_platform_tests.processes import log_tail

pytestmark = pytest.mark.slow
PLAIN = "check_task_delay_alerts"                 # hourly, acts on the state at the tick
DAILY = "generate_production_daily_reports"       # daily-partitioned report


START_SCHEDULE = """
mutation Start($selector: ScheduleSelector!) {
  startSchedule(scheduleSelector: $selector) { __typename ... on PythonError { message } }
}
"""


def test_services_list_has_the_37_with_metadata(api_stack: ApiStack):
    body = api_stack.get("/api/v1/scheduler/services/list").json()
    assert body["code"] == 200 and body["message"] == "success"
    services = {s["id"]: s for s in body["data"]["services"]}
    assert body["data"]["total"] == len(load_pms_config().services) == 37
    entry = services[PLAIN]
    assert entry["cron"] == {"minute": "0", "hour": "*", "day": "*", "month": "*", "day_of_week": "*"}
    assert "tasks" in entry["dependencies_tables"] and entry["risk_level"] == "HIGH"
    assert entry["sla"] == {"max_execution_time_seconds": 180, "retry_on_failure": True}
    assert entry["module"].startswith("yd_platform.pms.services")
    # on the embedded demo database the schedules are there but stopped
    assert entry["enabled"] is False


def test_status_and_jobs_follow_the_schedules(api_stack: ApiStack):
    api_stack.wait_healthy()
    status = api_stack.get("/api/v1/scheduler/status").json()["data"]
    assert status["job_count"] == 37 and status["running"] is True
    assert {j["id"]: j for j in status["jobs"]}[PLAIN]["next_run_time"] is None   # stopped
    started = DagsterApi(api_stack.dagster_url).execute(START_SCHEDULE, {"selector": {
        "repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY, "scheduleName": f"{PLAIN}_schedule"}})
    assert started["startSchedule"]["__typename"] == "ScheduleStateResult", started
    jobs = {j["id"]: j for j in api_stack.get("/api/v1/scheduler/status").json()["data"]["jobs"]}
    assert jobs[PLAIN]["next_run_time"].endswith(":00:00+00:00")
    services = api_stack.get("/api/v1/scheduler/services/list").json()["data"]["services"]
    assert {s["id"]: s["enabled"] for s in services}[PLAIN] is True
    assert "Asia/Shanghai" in jobs[PLAIN]["trigger"]
    listed = api_stack.get("/api/v1/scheduler/jobs").json()["data"]
    assert listed["total"] == 37 and all(":" in j["func"] for j in listed["jobs"])


def test_unknown_job_is_404_and_key_required(api_stack: ApiStack):
    assert api_stack.post("/api/v1/scheduler/jobs/no_such_service/trigger", {}).status_code == 404
    assert api_stack.get("/api/v1/scheduler/metrics", key=None).status_code == 401


@pytest.mark.parametrize("job_id", [PLAIN, DAILY])
def test_trigger_runs_the_service_and_metrics_count_it(api_stack: ApiStack, job_id):
    response = api_stack.post(f"/api/v1/scheduler/jobs/{job_id}/trigger", {})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["job_id"] == job_id and data["message"] == "任务已触发"
    outcome = RunLauncher(api_stack.dagster_url).wait(data["run_id"], timeout=600)
    assert outcome.success, log_tail(api_stack.logs)

    metrics = {m["job_id"]: m for m in api_stack.get("/api/v1/scheduler/metrics").json()["data"]["metrics"]}
    entry = metrics[job_id]
    assert entry["success_count"] >= 1 and entry["last_status"] == "success"
    assert entry["p50_duration_ms"] > 0 and entry["sample_count"] == entry["total_runs"]
    text = api_stack.get("/api/v1/scheduler/metrics/prometheus").text
    assert f'scheduler_job_success_total{{category="{entry["category"]}",job_id="{job_id}"' in text
    assert "# TYPE scheduler_job_duration_p95_ms gauge" in text
    if job_id == PLAIN:  # its schedule was started above and keeps running: a trigger never pauses it
        jobs = {j["id"]: j for j in api_stack.get("/api/v1/scheduler/status").json()["data"]["jobs"]}
        assert jobs[job_id]["next_run_time"]
