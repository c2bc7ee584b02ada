"""Batched raw backfills on a real instance (webserver and daemon on SQLite storage),
real Chromium and the demo portal: many shop-dates a run, one browser session per
merchant account, each partition recorded on its own, one bad shop-date failing only
itself, and a run killed mid-batch re-run for what is missing only.

The catalog is the shipped one with three pdd shops, two of them on one merchant account
(`YD_CATALOG` names it; the shipped file is left as it is). The portal runs in this
process, so the test flips its switches and reads what it received. One instance serves
the module (starting it is the expensive part); each test uses its own dates.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psutil
import pytest
import yaml

from yd_platform.catalog.loader import parse_catalog
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import raw_key
from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import Faults
from yd_platform.instance.pools import sync_platform_pools
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.processes import (
    REPO,
    free_port,
    log_tail,
    start_daemon,
    start_webserver,
    stop_group,
    wait_http,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

SHIPPED_CATALOG = REPO / "yd_platform" / "config" / "platforms.yaml"
# shop -> merchant account; north and south share one (sorted, so they are neighbours)
SHOPS = {"pdd_north": "pdd_acc_ns", "pdd_south": "pdd_acc_ns", "pdd_west": "pdd_acc_w"}
KPI_CALL = "chats/csReportDetail/download"
LOCATION, REPOSITORY = "yd_platform", "__repository__"
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_PORTAL_URL", "DAGSTER_HOME")
INSTANCE_YAML = {
    "telemetry": {"enabled": False},
    "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
    "concurrency": {"pools": {"granularity": "op", "default_limit": 1}, "runs": {"max_concurrent_runs": 4}},
    # a dead run's pool slots are given back soon after it is marked failed
    "run_monitoring": {"enabled": True, "poll_interval_seconds": 5, "free_slots_after_run_end_seconds": 1},
}

FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
}"""

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message stack }
  }
}"""
LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message stack }
  }
}"""
REEXECUTE = """
mutation($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message stack }
  }
}"""
SENSOR = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename ... on Sensor { jobOriginId sensorState { selectorId status } }
  }
}"""
STOP_SENSOR = """
mutation($origin: String, $selector: String) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {
    __typename ... on StopSensorMutationResult { instigationState { status } } ... on PythonError { message }
  }
}"""
PARTITION_STATUSES = """
query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      assetPartitionStatuses {
        __typename
        ... on MultiPartitionStatuses {
          ranges { primaryDimStartKey primaryDimEndKey
                   secondaryDim { __typename ... on DefaultPartitionStatuses { materializedPartitions failedPartitions } } }
        }
      }
    }
  }
}"""


def write_catalog(path: Path):
    """The shipped catalog with SHOPS as pdd's shops."""
    raw = yaml.safe_load(SHIPPED_CATALOG.read_text(encoding="utf-8"))
    raw["platforms"]["pdd"]["shops"] = [{"id": shop, "name": shop, "account": account}
                                        for shop, account in SHOPS.items()]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return parse_catalog(path.read_text(encoding="utf-8"), str(path))


@dataclass
class Deployment:
    url: str
    home: Path
    portal: DemoPortal
    ds: object
    logs: Path

    def graphql(self, query: str, variables: dict) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as resp:
            answer = json.load(resp)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


    def launch_backfill(self, partitions: list[str]) -> str:
        answer = self.graphql(LAUNCH_BACKFILL, {"params": {
            "partitionNames": partitions, "assetSelection": [{"path": raw_key(self.ds).path}]}})
        launched = answer["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        return self.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]["status"]

    def launch_range_run(self, first: str, last: str) -> str:
        """One run over the rectangle first..last (dates x shops), as the launchpad starts one."""
        answer = self.graphql(LAUNCH_RUN, {"params": {
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                         "pipelineName": f"{self.ds.slug}__collect"},
            "executionMetadata": {"tags": [{"key": "dagster/asset_partition_range_start", "value": first},
                                           {"key": "dagster/asset_partition_range_end", "value": last}]}}})
        launched = answer["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def reexecute(self, run_id: str) -> str:
        answer = self.graphql(REEXECUTE, {"params": {"parentRunId": run_id, "strategy": "ALL_STEPS"}})
        launched = answer["launchRunReexecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def partition_statuses(self) -> dict[str, dict[str, set[str]]]:
        """What the asset's Partitions tab shows: date -> {"materialized"/"failed": shops}."""
        node = self.graphql(PARTITION_STATUSES, {"key": {"path": raw_key(self.ds).path}})["assetNodeOrError"]
        shown: dict[str, dict[str, set[str]]] = {}
        for r in node["assetPartitionStatuses"]["ranges"]:
            day, last = date.fromisoformat(r["primaryDimStartKey"]), date.fromisoformat(r["primaryDimEndKey"])
            while day <= last:
                shown[day.isoformat()] = {"materialized": set(r["secondaryDim"]["materializedPartitions"]),
                                          "failed": set(r["secondaryDim"]["failedPartitions"])}
                day += timedelta(days=1)
        return shown

    def wait_for_run(self, instance, run_id: str) -> dg.DagsterRun:
        return wait_until(lambda: (r := instance.get_run_by_id(run_id)).is_finished and r,
                          f"run {run_id} finishing", details=lambda: log_tail(self.logs))


def stop_sensor(deployment: Deployment, name: str) -> None:
    """Stop a sensor the way the UI's toggle does."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": name}
    sensor = deployment.graphql(SENSOR, {"selector": selector})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    stopped = deployment.graphql(STOP_SENSOR, {"origin": sensor["jobOriginId"],
                                               "selector": sensor["sensorState"]["selectorId"]})["stopSensor"]
    assert stopped["__typename"] == "StopSensorMutationResult", stopped


def _location_loaded(deployment: Deployment) -> bool:
    try:
        data = deployment.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }", {})
    except OSError:
        return False
    entries = data["workspaceOrError"].get("locationEntries") or []
    return bool(entries) and entries[0]["loadStatus"] == "LOADED"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Deployment:
    root = tmp_path_factory.mktemp("backfill")
    catalog = write_catalog(root / "platforms.yaml")
    home, logs = root / "dagster_home", root / "logs"
    home.mkdir()
    logs.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE_YAML), encoding="utf-8")
    with DemoPortal(catalog=catalog, secret=b"backfill-test") as portal:
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(YD_HOME=str(root / "yd_home"), DAGSTER_HOME=str(home), YD_CATALOG=str(root / "platforms.yaml"),
                   YD_PORTAL_URL=portal.url, YD_PORTAL_DEMO="1", YD_COLLECT_ATTEMPTS="1",
                   DAGSTER_GRPC_TIMEOUT_SECONDS="300", SPARK_LOCAL_IP="127.0.0.1", PYTHONUNBUFFERED="1")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            sync_shops(instance, catalog, ShopSourceResource(source="config"))
            sync_platform_pools(instance, catalog)
        port = free_port()
        webserver, daemon = start_webserver(env, port, logs), start_daemon(env, logs)
        deploy = Deployment(f"http://127.0.0.1:{port}", home, portal, catalog.dataset("pdd", "kpi_days"), logs)
        try:
            wait_http(f"{deploy.url}/server_info", webserver)
            wait_until(lambda: _location_loaded(deploy), "the code location loading", proc=webserver,
                       details=lambda: log_tail(deploy.logs))
            stop_sensor(deploy, "yd_automation")  # merges of complete dates are not what is tested here
            yield deploy
        finally:
            stop_group(daemon)
            stop_group(webserver)


@pytest.fixture
def portal(deployment) -> DemoPortal:
    deployment.portal.state.reset()
    deployment.portal.state.faults = Faults(generation_seconds=0.2)
    return deployment.portal


def _materializations(instance, ds, partitions: list[str]) -> list[dg.EventLogRecord]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=raw_key(ds), asset_partitions=partitions), limit=1000).records
    return sorted(records, key=lambda r: r.storage_id)


def _meta(record: dg.EventLogRecord) -> dict:
    return {k: v.value for k, v in record.asset_materialization.metadata.items()}


def test_a_backfill_batches_partitions_and_fails_only_the_bad_shop_date(deployment, portal):
    days = ["2025-09-01", "2025-09-02"]
    partitions = [f"{day}|{shop}" for day in days for shop in SHOPS]
    bad = "2025-09-02|pdd_west"
    portal.state.faults.bad_reports = [bad]  # that report arrives as the back-end's error page

    backfill_id = deployment.launch_backfill(partitions)
    with deployment.instance() as instance:
        status = wait_until(lambda: (s := deployment.backfill_status(backfill_id)) in FINISHED and s,
                            f"backfill {backfill_id} finishing", details=lambda: log_tail(deployment.logs))
        assert status == "COMPLETED_FAILED"  # as the Backfills page shows it
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        # two dates of three shops: Dagster cuts the backfill per date, one run each
        assert len(runs) == 2, [r.tags for r in runs]

        records = _materializations(instance, deployment.ds, partitions)
        assert sorted(r.partition_key for r in records) == sorted(set(partitions) - {bad})  # one event each
        assert {r.run_id for r in records} <= {r.run_id for r in runs}
        by_partition = {r.partition_key: _meta(r) for r in records}
        for day in days:
            north, south = by_partition[f"{day}|pdd_north"], by_partition[f"{day}|pdd_south"]
            # the two shops of one account: one browser session, the second download reuses it
            assert (north["account"], south["account"]) == ("pdd_acc_ns", "pdd_acc_ns")
            assert (north["session_use"], south["session_use"]) == (1, 2) and south["logins"] == 0
        assert portal.state.stats()["logins"] == {"pdd:pdd_acc_ns": 1, "pdd:pdd_acc_w": 1}  # once per account

        [failed_run] = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        assert failed_run.tags["dagster/asset_partition_range_start"].startswith("2025-09-02|")
        [observed] = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=raw_key(deployment.ds), asset_partitions=[bad]), limit=10).records
        why = {k: v.value for k, v in observed.asset_observation.metadata.items()}
        assert why["reason"] == "BadReportFile" and "HTML page" in why["error"] and why["retryable"] is True
        failure = [e for e in instance.all_logs(failed_run.run_id) if e.is_dagster_event
                   and e.dagster_event.event_type_value == "STEP_FAILURE"]
        assert failure and bad in failure[-1].dagster_event.step_failure_data.user_failure_data.description
        # the run's log says how far the batch is after each account, not only at the end
        lines = [e.user_message for e in instance.all_logs(failed_run.run_id)]
        progress = [line for line in lines if " done (" in line]
        assert len(progress) == 2 and progress[-1].endswith("3 of 3 partitions handled, 2 collected, 1 failed")
        assert all(re.match(r"released pool account_pdd_\S+ after \d+\.\ds: pdd account ", line) for line in progress)

    shown = deployment.partition_statuses()  # as the Partitions tab shows them
    assert shown["2025-09-01"] == {"materialized": set(SHOPS), "failed": set()}
    assert shown["2025-09-02"] == {"materialized": {"pdd_north", "pdd_south"}, "failed": {"pdd_west"}}


def _kill_run_processes(instance, run_id: str) -> int:
    """Kill the run's worker process and everything under it (its step process, Chromium),
    as when the container of the run goes away; the worker's pid is in the run's log."""
    said = [e.user_message or (e.dagster_event.message if e.dagster_event else "") for e in instance.all_logs(run_id)]
    pids = {int(m.group(1)) for text in said if (m := re.match(r"Started process for run \(pid: (\d+)\)", text or ""))}
    workers = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]
    doomed = [p for w in workers for p in [*w.children(recursive=True), w]]
    for proc in doomed:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(doomed, timeout=60)
    return len(workers)


def test_a_run_killed_mid_batch_is_re_run_for_what_is_missing_only(deployment, portal):
    days = ["2025-09-03", "2025-09-04"]
    partitions = [f"{day}|{shop}" for day in days for shop in SHOPS]
    portal.state.faults.slow_seconds = 4.0  # each report call takes a while: time to kill mid-batch
    run_id = deployment.launch_range_run(f"{days[0]}|pdd_north", f"{days[-1]}|pdd_west")

    with deployment.instance() as instance:
        wait_until(lambda: len(_materializations(instance, deployment.ds, partitions)) >= 2,
                   "two partitions of the run stored", details=lambda: log_tail(deployment.logs))
        assert _kill_run_processes(instance, run_id) == 1
        killed_at = time.time()
        done_before = {r.partition_key for r in _materializations(instance, deployment.ds, partitions)}
        assert 2 <= len(done_before) < len(partitions), done_before
        # run monitoring marks a run failed when its worker is gone (on Docker or Kubernetes);
        # the local process launcher cannot tell, so the test says it
        instance.report_run_failed(instance.get_run_by_id(run_id), "killed by the test")

        portal.state.faults.slow_seconds = 0.0
        rerun_id = deployment.reexecute(run_id)
        rerun = deployment.wait_for_run(instance, rerun_id)
        assert rerun.status == dg.DagsterRunStatus.SUCCESS, log_tail(deployment.logs)

        records = _materializations(instance, deployment.ds, partitions)
        again = [r.partition_key for r in records if r.run_id == rerun_id]
        assert sorted(again) == sorted(set(partitions) - done_before)  # only what was missing
        assert {r.partition_key for r in records} == set(partitions)
        # the back-end was asked once for each partition the re-run stored, nothing else
        asked = [r for r in portal.requests(platform="pdd", path=KPI_CALL) if r["start"] > killed_at]
        assert len(asked) == len(again)
        told = [e.user_message for e in instance.all_logs(rerun_id) if "already in since" in e.user_message]
        assert told and f"{len(done_before)} already in since" in told[0]
    shown = deployment.partition_statuses()
    assert all(shown[day] == {"materialized": set(SHOPS), "failed": set()} for day in days)
