"""Prometheus text exposition read from the Dagster instance.

Runs by job and status, run-duration percentiles over the last 1000 finished runs per job
(linear interpolation at rank k = (n-1)p, as the old scheduler metrics did), check
failures by asset and severity, and the last successful publish per dataset. The old
`scheduler_job_*` names are kept as aliases so existing dashboards keep working.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import dagster as dg
from dagster import DagsterRunStatus

from yd_platform.catalog import Catalog
from yd_platform.notify.evaluations import evaluation_of
from yd_platform.pipeline.assets import ods_key

WINDOW_PER_JOB = 1000
MAX_RUNS_READ = 50_000
QUANTILES = (0.5, 0.95, 0.99)
FAILED_CHECK_HISTORY = 1000


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation at rank k = (n-1)p over the sorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}"


def _header(out: list[str], name: str, kind: str, text: str) -> None:
    out.append(f"# HELP {name} {text}")
    out.append(f"# TYPE {name} {kind}")


def run_metrics(instance: dg.DagsterInstance, out: list[str]) -> None:
    records = instance.get_run_records(limit=MAX_RUNS_READ)  # newest first
    by_status: Counter = Counter()
    durations: dict[str, list[float]] = defaultdict(list)
    last_duration: dict[str, float] = {}
    for rec in records:
        job = rec.dagster_run.job_name
        status = rec.dagster_run.status.value
        by_status[(job, status)] += 1
        if rec.start_time and rec.end_time and len(durations[job]) < WINDOW_PER_JOB:
            seconds = rec.end_time - rec.start_time
            durations[job].append(seconds)
            last_duration.setdefault(job, seconds)
    _header(out, "yd_runs_total", "counter", "Dagster runs by job and status.")
    out += [_line("yd_runs_total", {"job": j, "status": s}, n) for (j, s), n in sorted(by_status.items())]
    _header(out, "yd_run_duration_seconds", "summary",
            f"Run duration percentiles over the last {WINDOW_PER_JOB} finished runs per job.")
    for job, values in sorted(durations.items()):
        for q in QUANTILES:
            out.append(_line("yd_run_duration_seconds", {"job": job, "quantile": f"{q:g}"}, percentile(values, q)))
        out.append(_line("yd_run_duration_seconds_count", {"job": job}, len(values)))
        out.append(_line("yd_run_duration_seconds_sum", {"job": job}, sum(values)))
    jobs = sorted({j for j, _ in by_status})
    _header(out, "scheduler_job_success_total", "counter", "Alias: successful runs per job.")
    out += [_line("scheduler_job_success_total", {"job_id": j},
                  by_status[(j, DagsterRunStatus.SUCCESS.value)]) for j in jobs]
    _header(out, "scheduler_job_failure_total", "counter", "Alias: failed runs per job.")
    out += [_line("scheduler_job_failure_total", {"job_id": j},
                  by_status[(j, DagsterRunStatus.FAILURE.value)]) for j in jobs]
    _header(out, "scheduler_job_last_duration_ms", "gauge", "Alias: duration of the latest finished run per job.")
    out += [_line("scheduler_job_last_duration_ms", {"job_id": j}, round(d * 1000, 3))
            for j, d in sorted(last_duration.items())]


def check_metrics(instance: dg.DagsterInstance, check_keys, out: list[str]) -> None:
    storage = instance.event_log_storage
    failures: Counter = Counter()
    for key in check_keys:
        for record in storage.get_asset_check_execution_history(key, limit=FAILED_CHECK_HISTORY):
            evaluation = evaluation_of(record)
            if evaluation is not None and not evaluation.passed:
                failures[(key.asset_key.to_user_string(), evaluation.severity.value)] += 1
    _header(out, "yd_check_failures_total", "counter",
            f"Failed check evaluations by asset and severity (last {FAILED_CHECK_HISTORY} per check).")
    out += [_line("yd_check_failures_total", {"asset": a, "severity": s}, n) for (a, s), n in sorted(failures.items())]


def freshness_metrics(instance: dg.DagsterInstance, catalog: Catalog, out: list[str]) -> None:
    _header(out, "yd_dataset_last_success_timestamp_seconds", "gauge",
            "Unix time of the latest ods materialization per dataset.")
    for ds in catalog.datasets():
        event = instance.get_latest_materialization_event(ods_key(ds))
        if event is not None:
            out.append(_line("yd_dataset_last_success_timestamp_seconds",
                             {"dataset": f"{ds.platform}/{ds.code}"}, event.timestamp))


def render_metrics(instance: dg.DagsterInstance, catalog: Catalog, check_keys=()) -> str:
    out: list[str] = []
    run_metrics(instance, out)
    check_metrics(instance, check_keys, out)
    freshness_metrics(instance, catalog, out)
    return "\n".join(out) + "\n"
