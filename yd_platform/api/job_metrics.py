"""Prometheus exposition of the scheduler metrics (`/api/v1/scheduler/metrics/prometheus`),
with the old system's metric names and job labels, through prometheus_client."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

JOB_LABELS = ("job_id", "job_name", "owner", "category")
DURATION_STATS = ("avg", "p50", "p95", "p99", "min", "max")


class _Snapshot:
    """A collector over metrics already computed for one scrape."""

    def __init__(self, per_job: list[dict], channels: list[dict]):
        self.per_job, self.channels = per_job, channels

    def collect(self):
        def labels(m: dict) -> list[str]:
            return [str(m[k]) for k in JOB_LABELS]

        success = CounterMetricFamily("scheduler_job_success", "Successful runs per job.", labels=JOB_LABELS)
        failure = CounterMetricFamily("scheduler_job_failure", "Failed runs per job.", labels=JOB_LABELS)
        last = GaugeMetricFamily("scheduler_job_last_duration_ms", "Duration of the latest run.", labels=JOB_LABELS)
        when = GaugeMetricFamily("scheduler_job_last_run_timestamp", "Unix time the latest run ended.",
                                 labels=JOB_LABELS)
        stats = {s: GaugeMetricFamily(f"scheduler_job_duration_{s}_ms", f"{s} run duration over the last 1000 runs.",
                                      labels=JOB_LABELS) for s in DURATION_STATS}
        for m in self.per_job:
            success.add_metric(labels(m), m["success_count"])
            failure.add_metric(labels(m), m["failure_count"])
            if m["sample_count"]:
                last.add_metric(labels(m), m["last_duration_ms"])
                when.add_metric(labels(m), datetime.fromisoformat(m["last_timestamp"].replace("Z", "+00:00"))
                                .timestamp())
                for s in DURATION_STATS:
                    stats[s].add_metric(labels(m), round(m[f"{s}_duration_ms"], 2))
        sent = CounterMetricFamily("scheduler_notification_success", "Notifications sent per channel.",
                                   labels=["channel"])
        failed = CounterMetricFamily("scheduler_notification_failure", "Notifications failed per channel.",
                                     labels=["channel"])
        for c in self.channels:
            sent.add_metric([c["channel"]], c["success_count"])
            failed.add_metric([c["channel"]], c["failure_count"])
        yield from (success, failure, last, when, *stats.values(), sent, failed)


def prometheus_text(per_job: list[dict], channels: list[dict]) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    registry.register(_Snapshot(per_job, channels))
    return generate_latest(registry), CONTENT_TYPE_LATEST
