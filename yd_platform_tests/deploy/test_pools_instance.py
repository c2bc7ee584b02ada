"""One merchant account, one download at a time, on a real instance (MariaDB storage,
webserver and daemon): two runs of the same shop's account, one started with
`dagster job launch` and one over GraphQL, neither carrying the `yd/account` tag, never
hold the account at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import dagster as dg
import pytest

from yd_platform.catalog import load_catalog
from yd_platform.launch import RunLauncher, partition_tags
from yd_platform.launch.pools import account_pool, sync_platform_pools
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.processes import free_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

JOB = "pdd__badscore__collect"
POOL = account_pool("pdd", "pdd_acc_01")  # the account of shop pdd_flagship
PARTITIONS = ("2025-10-01|pdd_flagship", "2025-10-02|pdd_flagship")
RUN_WAIT_SECONDS = 600


@pytest.fixture
def slow_portal(monkeypatch):
    """The demo back-ends, each report call taking 3 s, so a collection holds its account
    for several seconds."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "yd_platform.cli.main", "portal", "--port", str(port),
                             "--faults", json.dumps({"slow_seconds": 3})],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            import urllib.request

            urllib.request.urlopen(url, timeout=2)
            break
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP answer: the portal is up
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                stop(proc)
                pytest.fail(f"demo portal did not start on {url}")
            time.sleep(0.5)
    monkeypatch.setenv("YD_PORTAL_URL", url)
    monkeypatch.setenv("YD_PORTAL_DEMO", "1")
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "1")
    # a loaded test machine can take a while to start a run's process
    monkeypatch.setenv("DAGSTER_GRPC_TIMEOUT_SECONDS", "300")
    try:
        yield url
    finally:
        stop(proc)


def _message_time(instance, run_id: str, prefix: str) -> float | None:
    for entry in instance.all_logs(run_id):
        if entry.user_message.startswith(prefix):
            return entry.timestamp
    return None


def test_two_runs_of_one_account_never_overlap(slow_portal, deployment):
    catalog = load_catalog()
    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
        # pdd may download twice at once: only the account can keep these runs apart
        sync_platform_pools(instance, catalog)  # the yd_pool_limits sensor may have done it already
        limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
        assert limits["collect_pdd"] == 2

        launched = deployment.dagster("job", "launch", "-w", "workspace.yaml", "-j", JOB,
                                      "--tags", json.dumps(partition_tags(PARTITIONS[0])))
        assert launched.returncode == 0, launched.stdout + launched.stderr
        [first] = instance.get_runs(dg.RunsFilter(job_name=JOB, tags={"dagster/partition": PARTITIONS[0]}))
        second = RunLauncher(deployment.url).submit(JOB, PARTITIONS[1])
        runs = [first.run_id, second]
        for run_id in runs:
            assert "yd/account" not in instance.get_run_by_id(run_id).tags  # no run-tag limit applies

        finished = [deployment.wait_for_run(instance, run_id, RUN_WAIT_SECONDS) for run_id in runs]
        failures = {r.run_id: deployment.run_failure(instance, r.run_id) for r in finished if r.status != dg.DagsterRunStatus.SUCCESS}
        assert not failures, f"{failures}\n{deployment.log_tail()}"

        held = sorted((_message_time(instance, run_id, f"holding pool {POOL}"),
                       _message_time(instance, run_id, f"released pool {POOL}")) for run_id in runs)
        assert all(start is not None and end is not None for start, end in held), held
        (_, first_end), (second_start, _) = held
        assert second_start >= first_end, f"both runs held {POOL} at once: {held}"
        waited = [_message_time(instance, run_id, "waiting for pdd account pdd_acc_01") for run_id in runs]
        assert any(waited), "the second run never waited for the account"

        info = instance.event_log_storage.get_concurrency_info(POOL)
        assert info.slot_count == 1 and not info.claimed_slots  # given back after the runs
