"""The pms stage in Dagster: one job per service, schedules at the services' times in
Asia/Shanghai, the open-alerts check, daily partitions, and the scheduler metrics read
from the instance's runs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.pms import list_services, scheduler_metrics
from yd_platform.pms import schema as t
from yd_platform.pms.config import load_pms_config
from yd_platform.pms.defs import CHECK_NAME, build_pms_defs
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.pms_db import PmsDatabaseResource
from yd_platform_tests.pms.database import day

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def defs(pms, tmp_path) -> dg.Definitions:
    pms_url = str(pms.engine.url)
    return build_pms_defs(resources={"pms_db": PmsDatabaseResource(url=pms_url),
                                     "app_db": AppDatabaseResource(url=f"sqlite:///{tmp_path / 'app.db'}"),
                                     "alert_channels": ChannelsResource()})


def run(defs, job, instance, now="2026-03-10T09:00", partition=None, raise_on_error=True):
    config = {"ops": {f"pms__{job}": {"config": {"now": now}}}}
    return defs.get_job_def(job).execute_in_process(run_config=config, instance=instance, partition_key=partition,
                                                    raise_on_error=raise_on_error)


def test_one_job_and_one_schedule_per_service_at_its_time(defs):
    cfg = load_pms_config()
    repo = defs.get_repository_def()
    schedules = {s.name: s for s in repo.schedule_defs}
    for svc in cfg.services:
        assert defs.get_job_def(svc.id).name == svc.id
        assert defs.get_assets_def(dg.AssetKey(["pms", svc.id])).op.pool == f"pms_{svc.id}"  # one run at a time
        schedule = schedules[f"{svc.id}_schedule"]
        assert (schedule.cron_schedule, schedule.execution_timezone) == (svc.cron, "Asia/Shanghai")
    assert list_services()["total"] == 37
    # the 05:00 tick of 2026-03-10 asks for the production report of the 9th
    schedule = schedules["generate_production_daily_reports_schedule"]
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 5, 0, tzinfo=SHANGHAI)) as ctx:
        [request] = schedule.evaluate_tick(ctx).run_requests
    assert request.partition_key == "2026-03-09"
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 10, 2, 0, tzinfo=SHANGHAI)) as ctx:
        [request] = schedules["daily_health_snapshot_schedule"].evaluate_tick(ctx).run_requests
    assert request.partition_key == "2026-03-10"


def test_check_fails_while_urgent_alerts_are_open_and_metrics_count_runs(defs, pms, instance):
    pms.add("material_shortages", project_id=1, material_code="M", material_name="气缸", shortage_qty=2, required_date=day(-1),
            status="OPEN")
    result = run(defs, "generate_shortage_alerts", instance)
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed, evaluation.severity) == (CHECK_NAME, False, dg.AssetCheckSeverity.ERROR)
    [mat] = result.get_asset_materialization_events()
    assert mat.materialization.metadata["alerts_created"].value == 1
    with pms.engine.begin() as conn:
        conn.execute(sa.update(t.alert_records).values(status="RESOLVED"))
    assert run(defs, "generate_shortage_alerts", instance, now="2026-03-11T07:00").get_asset_check_evaluations()[0].passed is False
    with pms.engine.begin() as conn:  # the next day's alert was raised again (the shortage is still open); resolve it too
        conn.execute(sa.update(t.material_shortages).values(status="RESOLVED"))
        conn.execute(sa.update(t.alert_records).values(status="RESOLVED"))
    assert run(defs, "generate_shortage_alerts", instance, now="2026-03-12T07:00").get_asset_check_evaluations()[0].passed is True

    report = run(defs, "generate_production_daily_reports", instance, now="", partition="2026-03-09")
    assert report.success
    assert [r["report_date"] for r in pms.rows("production_daily_report")] == [day(-1)]

    with pms.engine.begin() as conn:  # a service that fails counts as a failure
        conn.execute(sa.text("ALTER TABLE production_plan RENAME TO production_plan_moved"))
    assert not run(defs, "check_production_plan_alerts", instance, raise_on_error=False).success

    metrics = {m["job_id"]: m for m in scheduler_metrics(instance, engine=pms.engine)["metrics"]}
    shortage, plan = metrics["generate_shortage_alerts"], metrics["check_production_plan_alerts"]
    assert (shortage["success_count"], shortage["failure_count"], shortage["total_runs"], shortage["sample_count"]) == (3, 0, 3, 3)
    assert shortage["p50_duration_ms"] <= shortage["p95_duration_ms"] <= shortage["p99_duration_ms"] <= shortage["max_duration_ms"]
    assert shortage["last_status"] == "success" and shortage["last_timestamp"].endswith("Z")
    assert (plan["failure_count"], plan["last_status"]) == (1, "failed")
    assert metrics["sales_reminder_scan"]["p50_duration_ms"] is None and metrics["sales_reminder_scan"]["total_runs"] == 0
    assert set(shortage) >= {"job_id", "job_name", "owner", "category", "success_count", "failure_count", "total_runs",
                             "last_duration_ms", "avg_duration_ms", "total_duration_ms", "last_status", "last_timestamp",
                             "p50_duration_ms", "p95_duration_ms", "p99_duration_ms", "min_duration_ms", "max_duration_ms",
                             "sample_count"}
    channels = scheduler_metrics(instance, engine=pms.engine)["notification_channels"]
    assert {"channel": "SYSTEM", "success_count": 2, "failure_count": 0} in channels  # one alert a day, to the PM
