"""One merchant account, one download at a time, on a real instance (MariaDB storage,
webserver and daemon): two runs of the same shop's account, one started with
`dagster job launch` and one over GraphQL, neither carrying the `yd/account` tag, wait
while the account is busy and never hold it at the same time.

The test keeps the account busy itself (holding its pool slot, as a login by hand does)
until both runs are seen waiting for it in their logs, so what is checked does not
depend on which run starts first or how long a run process takes to start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import dagster as dg
import pytest

from yd_platform.catalog import load_catalog
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.instance.pools import account_pool, holding_slot, pool_limits, pool_use, sync_platform_pools
from yd_platform.resources.dagster_webserver import RunLauncher, partition_tags
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.processes import answers, free_port, log_tail, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

JOB = "pdd__badscore__collect"
POOL = account_pool("pdd", "pdd_acc_01")  # the account of shop pdd_flagship
PARTITIONS = ("2025-10-01|pdd_flagship", "2025-10-02|pdd_flagship")
WAITING = "waiting for pdd account pdd_acc_01"
HOLDER = "the test, keeping pdd_acc_01 busy"


@pytest.fixture
def slow_portal(monkeypatch):
    """The demo back-ends, each report call taking a second, so a collection holds its
    account for a while."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "yd_platform.cli.main", "portal", "--port", str(port),
                             "--faults", json.dumps({"slow_seconds": 1})],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/_admin/health"), f"the demo portal answering on {url}", proc=proc)
        monkeypatch.setenv("YD_PORTAL_URL", url)
        monkeypatch.setenv("YD_PORTAL_DEMO", "1")
        monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "1")
        # a loaded test machine can take a while to start a run's process
        monkeypatch.setenv("DAGSTER_GRPC_TIMEOUT_SECONDS", "300")
        yield url
    finally:
        stop(proc)


def _message_time(instance, run_id: str, prefix: str) -> float | None:
    for entry in instance.all_logs(run_id):
        if entry.user_message.startswith(prefix):
            return entry.timestamp
    return None


def _seen_waiting(instance, deployment, run_id: str) -> bool:
    if _message_time(instance, run_id, WAITING) is not None:
        return True
    run = instance.get_run_by_id(run_id)
    if run.is_finished:
        pytest.fail(f"run {run_id} ended {run.status.value} without waiting for the busy account:\n"
                    f"{deployment.run_failure(instance, run_id)}\n{log_tail(deployment.logs, 4000)}")
    return False


def test_two_runs_of_one_account_never_overlap(slow_portal, deployment):
    catalog = load_catalog()
    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
        # pdd may download twice at once: only the account can keep these runs apart
        sync_platform_pools(instance, catalog)  # the yd_pool_limits sensor may have done it already
        assert pool_limits(instance)["collect_pdd"].slots == 2

        with holding_slot(instance, POOL, HOLDER, "test", wait_seconds=60):
            launched = deployment.dagster("job", "launch", "-w", "workspace.yaml", "-j", JOB,
                                          "--tags", json.dumps(partition_tags(PARTITIONS[0])))
            assert launched.returncode == 0, launched.stdout + launched.stderr
            [first] = instance.get_runs(dg.RunsFilter(job_name=JOB, tags={"dagster/partition": PARTITIONS[0]}))
            second = RunLauncher(deployment.url).submit(JOB, PARTITIONS[1])
            runs = [first.run_id, second]
            for run_id in runs:
                assert "yd/account" not in instance.get_run_by_id(run_id).tags  # no run-tag limit applies
            for run_id in runs:
                wait_until(lambda: _seen_waiting(instance, deployment, run_id),  # noqa: B023
                           f"run {run_id} waiting for the busy account",
                           details=lambda: log_tail(deployment.logs, 4000))
            assert pool_use(instance, POOL).waiting == set(runs)
            assert not any(_message_time(instance, run_id, f"holding pool {POOL}") for run_id in runs)
            released_at = time.time()

        finished = [deployment.wait_for_run(instance, run_id) for run_id in runs]
        failures = {r.run_id: deployment.run_failure(instance, r.run_id)
                    for r in finished if r.status != dg.DagsterRunStatus.SUCCESS}
        assert not failures, f"{failures}\n{log_tail(deployment.logs, 4000)}"

        held = sorted((_message_time(instance, run_id, f"holding pool {POOL}"),
                       _message_time(instance, run_id, f"released pool {POOL}")) for run_id in runs)
        assert all(start is not None and end is not None for start, end in held), held
        (first_start, first_end), (second_start, _) = held
        assert first_start >= released_at, f"a run took {POOL} while the test held it: {held}"
        assert second_start >= first_end, f"both runs held {POOL} at once: {held}"

        use = pool_use(instance, POOL)
        assert use.slots == 1 and not use.holders and not use.waiting  # given back after the runs
