"""`/api/v1/scheduler/*`: the operations scheduler's API, answered from Dagster.

The 37 PMS services are Dagster jobs with schedules; "the scheduler" is the daemon's
scheduler, a job's next run is its schedule's next tick, "trigger" launches a run now
(it never pauses the schedule), and the metrics are computed from the job's runs.
Replies keep the old wrapper `{code, message, data}` and field names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.api.job_metrics import prometheus_text
from yd_platform.api.tags import dagster
from yd_platform.pms.api import WINDOW, RunTimes, job_metrics, notification_channels, service_entry
from yd_platform.pms.config import PmsConfig, Service, load_pms_config
from yd_platform.pms.defs import partitions_for
from yd_platform.pms.schema import pms_engine
from yd_platform.pms.services import service_function
from yd_platform.resources.pms_db import pms_db_url

router = APIRouter(prefix="/api/v1/scheduler", tags=["scheduler"])
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def ok(data: dict) -> dict:
    return {"code": 200, "message": "success", "data": data}


def services() -> PmsConfig:
    return load_pms_config()


def _service(config: PmsConfig, job_id: str) -> Service:
    try:
        return config.service(job_id)
    except KeyError:
        raise HTTPException(404, f"job {job_id!r}: no such scheduled service") from None


def _func(svc: Service) -> str:
    func = service_function(svc.id)
    return f"{func.__module__}:{func.__qualname__}"


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else None


def _schedule_view(api: DagsterApi, config: PmsConfig) -> dict[str, dict]:
    """job name -> {next_run_time, trigger, running} from the code location's schedules."""
    wanted = {s.id for s in config.services}
    out = {}
    for schedule in api.schedules():
        if schedule["pipelineName"] not in wanted:
            continue
        running = schedule["scheduleState"]["status"] == "RUNNING"
        ticks = schedule["futureTicks"]["results"]
        out[schedule["pipelineName"]] = {
            "next_run_time": _iso(ticks[0]["timestamp"]) if running and ticks else None,
            "trigger": f"cron[{schedule['cronSchedule']}] {schedule['executionTimezone'] or ''}".strip(),
            "schedule": schedule["name"], "schedule_running": running}
    return out


def _jobs(api: DagsterApi, config: PmsConfig, with_func: bool) -> list[dict]:
    schedules = _schedule_view(api, config)
    jobs = []
    for svc in config.services:
        found = schedules.get(svc.id, {})
        job = {"id": svc.id, "name": svc.name, "next_run_time": found.get("next_run_time"),
               "trigger": found.get("trigger") or f"cron[{svc.cron}] {config.timezone}"}
        if with_func:
            job["func"] = _func(svc)
        jobs.append(job)
    return jobs


@router.get("/status")
def status(api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services)) -> dict[str, Any]:
    """Is the scheduler (the Dagster daemon's) running, and every job's next run."""
    running = bool(api.daemon_health()["daemons"].get("SCHEDULER"))
    jobs = _jobs(api, config, with_func=False)
    return ok({"running": running, "job_count": len(jobs), "jobs": jobs})


@router.get("/jobs")
def jobs(api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services)) -> dict[str, Any]:
    found = _jobs(api, config, with_func=True)
    return ok({"total": len(found), "jobs": found})


@router.post("/jobs/{job_id}/trigger")
def trigger(job_id: str, api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services)) -> dict[str, Any]:
    """Run the service now, as its schedule would at this moment; the schedule is untouched."""
    svc = _service(config, job_id)
    partitions = partitions_for(svc, config.timezone)
    partition = partitions.get_last_partition_key() if partitions else None
    run_id = api.submit(svc.id, partition=partition, tags={"yd/trigger": "api"})
    return ok({"job_id": svc.id, "job_name": svc.name, "run_id": run_id, "message": "任务已触发",
               "ui_url": f"{api.url}/runs/{run_id}"})


def pms_database() -> sa.Engine:
    return pms_engine(pms_db_url())


def _runs(api: DagsterApi, job: str) -> list[RunTimes]:
    runs = api.runs(job, limit=WINDOW, statuses=FINISHED)
    return [RunTimes(r["status"], r.get("startTime"), r.get("endTime")) for r in runs]


def _metrics(api: DagsterApi, config: PmsConfig, engine: sa.Engine) -> tuple[list[dict], list[dict]]:
    return [job_metrics(svc, _runs(api, svc.id)) for svc in config.services], notification_channels(engine)


@router.get("/metrics")
def metrics(api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services),
            engine: sa.Engine = Depends(pms_database)) -> dict[str, Any]:
    """Per job: runs, successes, failures, durations (avg, min, max, p50/p95/p99 over the last
    1000 finished runs); per notification channel: messages sent and failed attempts."""
    per_job, channels = _metrics(api, config, engine)
    return ok({"total": len(per_job), "metrics": per_job, "notification_channels": channels})


@router.get("/metrics/prometheus")
def metrics_prometheus(api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services),
                       engine: sa.Engine = Depends(pms_database)) -> Response:
    per_job, channels = _metrics(api, config, engine)
    body, content_type = prometheus_text(per_job, channels)
    return Response(body, media_type=content_type)


@router.get("/services/list")
def services_list(api: DagsterApi = Depends(dagster), config: PmsConfig = Depends(services)) -> dict[str, Any]:
    """Every service with its schedule, owner, dependent tables, risk level and SLA;
    `enabled` is whether its Dagster schedule is running."""
    schedules = _schedule_view(api, config)
    out = []
    for svc in config.services:
        entry = service_entry(svc, config)
        entry["enabled"] = schedules.get(svc.id, {}).get("schedule_running", False)
        entry["module"], _, entry["callable"] = _func(svc).partition(":")
        out.append(entry)
    return ok({"total": len(out), "services": out})
