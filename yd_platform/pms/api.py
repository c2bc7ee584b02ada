"""Plain functions behind the scheduler API (`/api/v1/scheduler/...`), with its field names.

`list_services()` is the services list; `scheduler_metrics(instance)` reads the Dagster
instance's runs of the 37 service jobs. Both return JSON-ready dicts (the HTTP layer wraps
them in `{code, message, data}`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import NamedTuple

import dagster as dg
import numpy as np
import sqlalchemy as sa
from dagster import DagsterRunStatus, RunsFilter

from yd_platform.pms import schema as t
from yd_platform.pms.config import PmsConfig, load_pms_config

WINDOW = 1000
FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


def cron_dict(cron: str) -> dict:
    minute, hour, day, month, dow = cron.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": dow}


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def service_entry(svc, cfg: PmsConfig) -> dict:
    return {"id": svc.id, "config_id": svc.config_id or svc.id, "name": svc.name, "module": "yd_platform.pms.services",
            "callable": svc.id, "cron": cron_dict(svc.cron), "cron_expression": svc.cron, "timezone": cfg.timezone,
            "owner": svc.owner, "category": svc.category, "enabled": True, "description": svc.name,
            "dependencies_tables": list(svc.tables), "risk_level": svc.risk,
            "sla": {"max_execution_time_seconds": _seconds(svc.sla.max_execution_time_seconds),
                    "retry_on_failure": svc.sla.retry_on_failure},
            "alert_rules": list(svc.rules), "partition": svc.partition, "recipients": svc.recipients}


def list_services(config: PmsConfig | None = None) -> dict:
    """`{total, services: [{id, config_id, name, module, callable, cron {minute, hour, day, month,
    day_of_week}, cron_expression, timezone, owner, category, enabled, description,
    dependencies_tables [...], risk_level, sla {max_execution_time_seconds, retry_on_failure},
    alert_rules [...], partition, recipients}]}` in the order of `config/pms.yaml`."""
    cfg = config or load_pms_config()
    services = [service_entry(s, cfg) for s in cfg.services]
    return {"total": len(services), "services": services}


def _ms(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 2)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


class RunTimes(NamedTuple):
    """What the metrics need of one finished run: status ("SUCCESS", "FAILURE", "CANCELED")
    and start/end in unix seconds; read from the instance or from the GraphQL API alike."""

    status: str
    start: float | None
    end: float | None


def job_metrics(svc, runs: list[RunTimes]) -> dict:
    """One job's metrics entry from its finished runs, newest first (field names of §4)."""
    ok = sum(1 for r in runs if r.status == "SUCCESS")
    durations = [(r.end - r.start) * 1000 for r in runs if r.start and r.end][:WINDOW]
    last = runs[0] if runs else None
    total = sum(durations)
    # linear interpolation at rank k = (n-1)p, numpy's default (the old scheduler's figures)
    p50, p95, p99 = (float(v) for v in np.quantile(durations, [0.5, 0.95, 0.99])) if durations else (None,) * 3
    return {
        "job_id": svc.id, "job_name": svc.name, "owner": svc.owner, "category": svc.category,
        "success_count": ok, "failure_count": len(runs) - ok, "total_runs": len(runs),
        "last_duration_ms": _ms(durations[0]) if durations else None,
        "avg_duration_ms": _ms(total / len(durations)) if durations else None,
        "total_duration_ms": _ms(total),
        "last_status": None if last is None else ("success" if last.status == "SUCCESS" else "failed"),
        "last_timestamp": _iso(last.end) if last else None,
        "p50_duration_ms": _ms(p50),
        "p95_duration_ms": _ms(p95),
        "p99_duration_ms": _ms(p99),
        "min_duration_ms": _ms(min(durations)) if durations else None,
        "max_duration_ms": _ms(max(durations)) if durations else None,
        "sample_count": len(durations)}


def scheduler_metrics(instance: dg.DagsterInstance, config: PmsConfig | None = None,
                      engine: sa.Engine | None = None) -> dict:
    """Per service job, over its finished runs in the instance (newest 1000 for durations):

    `{total, metrics: [job_metrics(...) for each service], notification_channels:
    [{channel, success_count, failure_count}] (from the PMS database when `engine` is given)}`

    A run fails when the service raised (services do not swallow their errors here), so
    failures are counted as failures; durations include failed runs; the percentiles use
    linear interpolation at rank (n-1)p and are null without samples.
    """
    cfg = config or load_pms_config()
    names = [s.id for s in cfg.services]
    records = instance.get_run_records(RunsFilter(statuses=FINISHED, tags={"pms/service": names}), limit=200_000)
    by_job: dict[str, list[RunTimes]] = defaultdict(list)
    for rec in records:  # newest first
        if rec.dagster_run.job_name in names:
            by_job[rec.dagster_run.job_name].append(
                RunTimes(rec.dagster_run.status.value, rec.start_time, rec.end_time))
    metrics = [job_metrics(svc, by_job.get(svc.id, [])) for svc in cfg.services]
    return {"total": len(metrics), "metrics": metrics,
            "notification_channels": notification_channels(engine) if engine is not None else []}


def notification_channels(engine: sa.Engine) -> list[dict]:
    """`[{channel, success_count, failure_count}]` from alert_notifications (SENT vs FAILED/ABANDONED)."""
    n = t.alert_notifications.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(n.notify_channel, n.status, sa.func.count()).group_by(n.notify_channel, n.status)).all()
    out: dict[str, dict] = {}
    for channel, status, count in rows:
        entry = out.setdefault(channel, {"channel": channel, "success_count": 0, "failure_count": 0})
        if status == "SENT":
            entry["success_count"] += count
        elif status in ("FAILED", "ABANDONED"):
            entry["failure_count"] += count
    return sorted(out.values(), key=lambda e: e["channel"])
