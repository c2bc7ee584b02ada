"""The collect pools: per-platform slots come from the catalog, the instances enforce
pools out of the box, and two runs of one merchant account never download at once
(here: two run processes on one instance; with webserver and daemon on MariaDB:
deploy/test_pools_instance)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import Faults
from yd_platform.launch.pools import (
    account_pool,
    catalog_pool_limits,
    platform_limits,
    platform_pool,
    sync_platform_pools,
    with_db_retry,
)
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.shops import ShopSourceResource

REPO = Path(__file__).resolve().parents[2]


def test_platform_pools_take_the_catalog_numbers(instance, catalog):
    expected = {platform_pool(code): p.max_concurrent_runs for code, p in catalog.platforms.items()
                if p.max_concurrent_runs > 0}
    assert platform_limits(catalog) == expected
    accounts = {account_pool(code, shop.login_account): 1
                for code, p in catalog.platforms.items() for shop in p.shops}
    assert accounts and catalog_pool_limits(catalog) == {**expected, **accounts}
    assert sync_platform_pools(instance, catalog) == {**expected, **accounts}
    limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
    assert {name: limits[name] for name in expected} == expected
    assert {name: limits[name] for name in accounts} == accounts
    assert sync_platform_pools(instance, catalog) == {}  # already in step: nothing rewritten


def test_a_deadlock_is_tried_again_and_other_errors_are_not():
    answers = iter([RuntimeError("1213 (40001): Deadlock found when trying to get lock"), "claimed"])

    def claim():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_db_retry(claim) == "claimed"
    with pytest.raises(KeyError):
        with_db_retry(lambda: {}["pool"])


def test_an_operator_change_in_the_ui_is_put_back(instance, catalog):
    sync_platform_pools(instance, catalog)
    instance.event_log_storage.set_concurrency_slots(platform_pool("pdd"), 9)
    assert sync_platform_pools(instance, catalog) == {platform_pool("pdd"): catalog.platforms["pdd"].max_concurrent_runs}


def test_both_instances_give_unconfigured_pools_one_slot():
    for path in (REPO / "dagster.yaml", REPO / "docker" / "dagster.yaml"):
        pools = yaml.safe_load(path.read_text(encoding="utf-8"))["concurrency"]["pools"]
        assert pools == {"granularity": "op", "default_limit": 1}, path


def test_pool_names_are_safe_for_any_account():
    assert account_pool("pdd", "pdd_acc_01") == "account_pdd_pdd_acc_01"
    odd = [account_pool("tm", name) for name in ("客服01", "客服02", "a/b", "a_b")]
    assert len(set(odd)) == 4 and all(name.isascii() for name in odd)
    assert odd[3] == "account_tm_a_b"
    assert platform_pool("jd") == "collect_jd"


RUN_ONE = """
import sys
import dagster as dg
from yd_platform.definitions import defs
with dg.DagsterInstance.get() as instance:
    result = defs.resolve_job_def(sys.argv[1]).execute_in_process(
        partition_key=sys.argv[2], instance=instance, raise_on_error=False)
    print(result.run_id)
"""


@pytest.mark.slow
def test_two_run_processes_of_one_account_take_turns(yd_home, tmp_path, catalog, monkeypatch):
    """Two runs of one account's shop, each in a process of its own (as in their own
    containers) on one instance: the second waits for the account's pool slot."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "YD_COLLECT_ATTEMPTS": "1"}
    job, pool = "pdd__badscore__collect", account_pool("pdd", "pdd_acc_01")
    with DemoPortal(catalog=catalog, faults=Faults(slow_seconds=2.0)) as portal:
        env.update(YD_PORTAL_URL=portal.url, YD_PORTAL_DEMO="1")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            sync_shops(instance, catalog, ShopSourceResource(source="config"))
            sync_platform_pools(instance, catalog)  # pdd takes two at once: only the account separates these
        procs = [subprocess.Popen([sys.executable, "-c", RUN_ONE, job, f"{day}|pdd_flagship"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for day in ("2025-10-01", "2025-10-02")]
        outputs = [p.communicate(timeout=600) for p in procs]
    run_ids = [out.strip().splitlines()[-1] for out, _ in outputs]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        held = []
        for run_id in run_ids:
            run = instance.get_run_by_id(run_id)
            logs = instance.all_logs(run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS, [e.user_message for e in logs][-5:]
            start = next(e.timestamp for e in logs if e.user_message.startswith(f"holding pool {pool}"))
            end = next(e.timestamp for e in logs if e.user_message == f"released pool {pool}")
            held.append((start, end, any(e.user_message.startswith("waiting for pdd account") for e in logs)))
        held.sort()
        assert held[1][0] >= held[0][1], f"both runs held {pool} at once: {held}"
        assert held[1][2], "the later run never waited for the account"
        assert not instance.event_log_storage.get_concurrency_info(pool).claimed_slots
