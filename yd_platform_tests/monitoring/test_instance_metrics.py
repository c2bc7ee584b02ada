"""Prometheus exposition of the instance: run counts, duration percentiles against figures
computed by hand from the runs the instance recorded, check failures and the aliases."""

import math

import dagster as dg
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from yd_platform.cli.main import main
from yd_platform.monitoring.instance_metrics import registry_for, render_metrics


def by_hand(values: list[float], p: float) -> float:
    """Linear interpolation at rank k = (n-1)p over the sorted values."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _jobs():
    @dg.op
    def ok():
        return 1

    @dg.op
    def boom():
        raise RuntimeError("no")

    @dg.job
    def good():
        ok()

    @dg.job
    def bad():
        boom()

    return good, bad


def test_render_counts_runs_checks_and_aliases(instance, catalog):
    good, bad = _jobs()
    for _ in range(3):
        good.execute_in_process(instance=instance)
    bad.execute_in_process(instance=instance, raise_on_error=False)
    key = dg.AssetKey(["pdd", "badscore", "badscore_ods"])
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=key, check_name="freshness", passed=False, severity=dg.AssetCheckSeverity.ERROR))
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=None))
    text = render_metrics(instance, catalog, [dg.AssetCheckKey(key, "freshness")])
    assert 'yd_runs_total{job="good",status="SUCCESS"} 3.0' in text
    assert 'yd_runs_total{job="bad",status="FAILURE"} 1.0' in text
    assert 'scheduler_job_success_total{job_id="good"} 3.0' in text
    assert 'scheduler_job_failure_total{job_id="bad"} 1.0' in text
    assert 'yd_run_duration_seconds_count{job="good"} 3.0' in text
    assert 'yd_run_duration_seconds{job="good",quantile="0.95"}' in text
    assert 'scheduler_job_last_duration_ms{job_id="good"}' in text
    assert 'yd_check_failures_total{asset="pdd/badscore/badscore_ods",severity="ERROR"} 1.0' in text
    assert 'yd_dataset_last_success_timestamp_seconds{dataset="pdd/badscore"}' in text
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert parsed["yd_run_duration_seconds"].type == "summary"
    assert parsed["yd_runs"].type == "counter"
    durations = [r.end_time - r.start_time for r in instance.get_run_records(dg.RunsFilter(job_name="good"))]
    quantiles = {s.labels["quantile"]: s.value for s in parsed["yd_run_duration_seconds"].samples
                 if s.labels.get("job") == "good" and "quantile" in s.labels}
    for q in ("0.5", "0.95", "0.99"):
        assert math.isclose(quantiles[q], by_hand(durations, float(q)), rel_tol=1e-9), q


def test_a_scrape_reads_only_what_changed(instance, catalog):
    good, _ = _jobs()
    for _ in range(5):
        good.execute_in_process(instance=instance)
    registry, collector = registry_for(instance, catalog, min_interval=0)
    generate_latest(registry)
    assert collector.runs_read == 5
    generate_latest(registry)
    assert collector.runs_read <= 5 + 1  # nothing new: at most the last update re-read
    good.execute_in_process(instance=instance)
    before = collector.runs_read
    text = generate_latest(registry).decode()
    assert 'yd_runs_total{job="good",status="SUCCESS"} 6.0' in text
    assert collector.runs_read - before <= 2


def test_metrics_command_prints_exposition(yd_home, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert "# TYPE yd_runs_total counter" in out
    assert "# TYPE scheduler_job_last_duration_ms gauge" in out
