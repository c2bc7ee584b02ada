"""The scheduler API's per-job metrics from a job's finished runs: counts, the latest run,
and the duration statistics against figures computed by hand."""

from __future__ import annotations

import math

from yd_platform.pms.api import RunTimes, job_metrics
from yd_platform.pms.config import load_pms_config

START = 1_773_100_000.0


def runs(durations_ms: list[float], failed: int = 0) -> list[RunTimes]:
    """Finished runs, newest first, lasting these many milliseconds; the last `failed` failed."""
    out = []
    for i, ms in enumerate(durations_ms):
        end = START - i * 600
        status = "FAILURE" if i >= len(durations_ms) - failed else "SUCCESS"
        out.append(RunTimes(status, end - ms / 1000, end))
    return out


def test_percentiles_interpolate_linearly_at_rank_n_minus_1_p():
    svc = load_pms_config().services[0]
    m = job_metrics(svc, runs([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]))
    assert m["p50_duration_ms"] == 5.5  # k = 4.5 between 5 and 6
    assert math.isclose(m["p95_duration_ms"], 9.55)  # k = 8.55 between 9 and 10
    assert math.isclose(m["p99_duration_ms"], 9.91)  # k = 8.91
    assert (m["min_duration_ms"], m["max_duration_ms"], m["avg_duration_ms"]) == (1, 10, 5.5)
    assert (m["last_duration_ms"], m["sample_count"], m["total_runs"]) == (10, 10, 10)
    assert math.isclose(job_metrics(svc, runs([100, 200, 400]))["p95_duration_ms"], 380.0)  # k = 1.9
    single = job_metrics(svc, runs([42]))
    assert single["p50_duration_ms"] == single["p99_duration_ms"] == 42


def test_counts_and_a_job_without_runs():
    svc = load_pms_config().services[0]
    m = job_metrics(svc, runs([300, 200, 100], failed=1))
    assert (m["success_count"], m["failure_count"], m["last_status"]) == (2, 1, "success")
    assert m["last_timestamp"].endswith("Z")
    empty = job_metrics(svc, [])
    assert empty["total_runs"] == 0 and empty["p50_duration_ms"] is None and empty["last_status"] is None
