"""Prometheus metrics read from the Dagster instance, exposed through `prometheus_client`.

Runs by job and status, run-duration percentiles over the last 1000 finished runs per job
(linear interpolation at rank k = (n-1)p, numpy's default, as the old scheduler metrics did), check
failures by asset and severity, and the last successful publish per dataset. The old
`scheduler_job_*` names are kept as aliases so existing dashboards keep working.

`InstanceCollector` is a `prometheus_client` collector that keeps what it read between
scrapes: the first scrape reads every run once, later ones only the runs updated since
(and only new check evaluations), so a scrape stays cheap with tens of thousands of
runs. Scrapes closer together than `min_interval` seconds get the previous figures.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from datetime import timedelta

import dagster as dg
import numpy as np
from dagster import DagsterRunStatus
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from yd_platform.catalog import Catalog
from yd_platform.datasets.check_results import evaluation_of
from yd_platform.datasets.keys import ods_key

WINDOW_PER_JOB = 1000
QUANTILES = (0.5, 0.95, 0.99)
FAILED_CHECK_HISTORY = 1000
CHECK_PAGE = 25
# Runs whose update lands in the same instant as the previous read are read again:
# Dagster keeps update timestamps to the microsecond (MySQL DATETIME(6) too) and filters
# `updated_after` strictly, so one microsecond back re-reads only that instant's runs.
UPDATE_OVERLAP = timedelta(microseconds=1)


class InstanceCollector:
    """What the instance records, as metric families; register it in a CollectorRegistry."""

    def __init__(self, instance: dg.DagsterInstance, catalog: Catalog, check_keys=(), min_interval: float = 15.0):
        self.instance = instance
        self.catalog = catalog
        self.check_keys = list(check_keys)
        self.min_interval = min_interval
        self.runs: dict[str, tuple[str, str, float | None, float | None]] = {}
        self.updated_after = None
        self.checks: dict[dg.AssetCheckKey, dict[int, tuple[bool, str]]] = defaultdict(dict)
        self.runs_read = 0  # run records read from storage so far (what a scrape costs)
        self._families: list[Metric] = []
        self._at = -math.inf

    def collect(self):
        if time.monotonic() - self._at >= self.min_interval:
            self._read_runs()
            self._read_checks()
            self._families = [*self._run_families(), self._check_family(), self._freshness_family()]
            self._at = time.monotonic()
        return iter(self._families)

    # ---- reading, incrementally -------------------------------------------------------
    def _read_runs(self) -> None:
        since = self.updated_after - UPDATE_OVERLAP if self.updated_after else None
        records = self.instance.get_run_records(dg.RunsFilter(updated_after=since) if since else None,
                                                order_by="update_timestamp", ascending=True)
        self.runs_read += len(records)
        for rec in records:
            run = rec.dagster_run
            self.runs[run.run_id] = (run.job_name, run.status.value, rec.start_time, rec.end_time)
            if self.updated_after is None or rec.update_timestamp > self.updated_after:
                self.updated_after = rec.update_timestamp

    def _read_checks(self) -> None:
        storage = self.instance.event_log_storage
        for key in self.check_keys:
            known = self.checks[key]
            cursor, limit = None, (CHECK_PAGE if known else FAILED_CHECK_HISTORY)
            while True:
                page = storage.get_asset_check_execution_history(key, limit=limit, cursor=cursor)
                fresh = [r for r in page if r.id not in known]
                for record in fresh:
                    evaluation = evaluation_of(record)
                    if evaluation is not None:
                        known[record.id] = (not evaluation.passed, evaluation.severity.value)
                if len(fresh) < len(page) or len(page) < limit or len(known) >= FAILED_CHECK_HISTORY:
                    break
                cursor = page[-1].id
            for old in sorted(known)[:-FAILED_CHECK_HISTORY]:
                del known[old]

    # ---- families ---------------------------------------------------------------------
    def _run_families(self) -> list[Metric]:
        by_status: Counter = Counter()
        finished: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for job, status, start, end in self.runs.values():
            by_status[(job, status)] += 1
            if start and end:
                finished[job].append((end, end - start))
        runs = CounterMetricFamily("yd_runs", "Dagster runs by job and status.", labels=["job", "status"])
        for (job, status), n in sorted(by_status.items()):
            runs.add_metric([job, status], n)
        durations = Metric("yd_run_duration_seconds",
                           f"Run duration percentiles over the last {WINDOW_PER_JOB} finished runs per job.", "summary")
        last = GaugeMetricFamily("scheduler_job_last_duration_ms",
                                 "Alias: duration of the latest finished run per job.", labels=["job_id"])
        for job, ends in sorted(finished.items()):
            latest = sorted(ends, reverse=True)[:WINDOW_PER_JOB]
            values = [seconds for _, seconds in latest]
            for q, value in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True):
                durations.add_sample("yd_run_duration_seconds", {"job": job, "quantile": f"{q:g}"}, float(value))
            durations.add_sample("yd_run_duration_seconds_count", {"job": job}, len(values))
            durations.add_sample("yd_run_duration_seconds_sum", {"job": job}, sum(values))
            last.add_metric([job], round(latest[0][1] * 1000, 3))
        jobs = sorted({job for job, _ in by_status})
        success = CounterMetricFamily("scheduler_job_success", "Alias: successful runs per job.", labels=["job_id"])
        failure = CounterMetricFamily("scheduler_job_failure", "Alias: failed runs per job.", labels=["job_id"])
        for job in jobs:
            success.add_metric([job], by_status[(job, DagsterRunStatus.SUCCESS.value)])
            failure.add_metric([job], by_status[(job, DagsterRunStatus.FAILURE.value)])
        return [runs, durations, success, failure, last]

    def _check_family(self) -> Metric:
        failures: Counter = Counter()
        for key, known in self.checks.items():
            for failed, severity in known.values():
                if failed:
                    failures[(key.asset_key.to_user_string(), severity)] += 1
        family = CounterMetricFamily(
            "yd_check_failures",
            f"Failed check evaluations by asset and severity (last {FAILED_CHECK_HISTORY} per check).",
            labels=["asset", "severity"])
        for (asset, severity), n in sorted(failures.items()):
            family.add_metric([asset, severity], n)
        return family

    def _freshness_family(self) -> Metric:
        family = GaugeMetricFamily("yd_dataset_last_success_timestamp_seconds",
                                   "Unix time of the latest ods materialization per dataset.", labels=["dataset"])
        datasets = {ods_key(ds): f"{ds.platform}/{ds.code}" for ds in self.catalog.datasets()}
        latest = self.instance.get_latest_materialization_events(list(datasets))
        for key, name in datasets.items():
            event = latest.get(key)
            if event is not None:
                family.add_metric([name], event.timestamp)
        return family


def registry_for(instance: dg.DagsterInstance, catalog: Catalog, check_keys=(),
                 min_interval: float = 15.0) -> tuple[CollectorRegistry, InstanceCollector]:
    registry = CollectorRegistry()
    collector = InstanceCollector(instance, catalog, check_keys, min_interval)
    registry.register(collector)
    return registry, collector


def render_metrics(instance: dg.DagsterInstance, catalog: Catalog, check_keys=()) -> str:
    """The exposition text of one scrape."""
    registry, _ = registry_for(instance, catalog, check_keys, min_interval=0)
    return generate_latest(registry).decode()
