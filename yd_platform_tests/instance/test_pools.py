"""The collect pools: per-platform slots come from the catalog, the instances enforce
pools out of the box, and they hold whoever runs the collection: runs in process (as
`yd-platform run` executes them, in any thread), run processes of their own (as in
their own containers), a login by hand (collect/test_collectors). With webserver and
daemon on MariaDB: deploy/test_pools_instance.

Every "it waited" below is made certain, not left to timing: the test holds the pool
itself until the run is seen waiting in the instance's records, then lets go.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from yd_platform.cli.up import embedded_dagster_home, todays_plans
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.definitions import build_definitions
from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import Faults
from yd_platform.instance.pools import (
    account_pool,
    catalog_pool_limits,
    holding_slot,
    platform_limits,
    platform_pool,
    pool_limits,
    pool_use,
    set_pool_limit,
    sync_platform_pools,
    with_db_retry,
)
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.local_run import run_chain
from yd_platform.pipeline.plan import plan_dataset
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, wait_until

REPO = Path(__file__).resolve().parents[2]
TICK = date(2025, 10, 2)  # collects the day 2025-10-01
HOLDER = "the test"


def test_platform_pools_take_the_catalog_numbers(instance, catalog):
    expected = {platform_pool(code): p.max_concurrent_runs for code, p in catalog.platforms.items()
                if p.max_concurrent_runs > 0}
    assert platform_limits(catalog) == expected
    accounts = {account_pool(code, shop.login_account): 1
                for code, p in catalog.platforms.items() for shop in p.shops}
    assert accounts and catalog_pool_limits(catalog) == {**expected, **accounts}
    assert sync_platform_pools(instance, catalog) == {**expected, **accounts}
    limits = {name: setting.slots for name, setting in pool_limits(instance).items()}
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
    set_pool_limit(instance, platform_pool("pdd"), 9)
    assert sync_platform_pools(instance, catalog) == {platform_pool("pdd"): catalog.platforms["pdd"].max_concurrent_runs}


def test_both_instances_give_unconfigured_pools_one_slot():
    for path in (REPO / "dagster.yaml", REPO / "docker" / "dagster.yaml"):
        pools = yaml.safe_load(path.read_text(encoding="utf-8"))["concurrency"]["pools"]
        assert (pools["granularity"], pools["default_limit"]) == ("op", 1), path


def test_pool_names_are_safe_for_any_account():
    assert account_pool("pdd", "pdd_acc_01") == "account_pdd_pdd_acc_01"
    odd = [account_pool("tm", name) for name in ("客服01", "客服02", "a/b", "a_b")]
    assert len(set(odd)) == 4 and all(name.isascii() for name in odd)
    assert odd[3] == "account_tm_a_b"
    assert platform_pool("jd") == "collect_jd"


@pytest.fixture
def embedded_home(yd_home, tmp_path, monkeypatch) -> Path:
    """DAGSTER_HOME of the embedded default, set up as `yd-platform run` and `up` do."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return embedded_dagster_home()


def test_run_and_up_give_the_instance_the_catalog_pools_before_their_first_run(embedded_home, catalog):
    todays_plans(TICK, datasets=["pdd/badscore"])
    with dg.DagsterInstance.from_config(str(embedded_home)) as instance:
        limits = {name: setting.slots for name, setting in pool_limits(instance).items()}
    expected = catalog_pool_limits(catalog)
    assert {name: limits.get(name) for name in expected} == expected


# -- collections in process, as `yd-platform run` executes them -------------------------

@pytest.fixture
def portal(embedded_home, catalog, monkeypatch):
    with DemoPortal(catalog=catalog) as served:
        monkeypatch.setenv("YD_PORTAL_URL", served.url)
        monkeypatch.setenv("YD_PORTAL_DEMO", "1")
        monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "1")
        with dg.DagsterInstance.from_config(str(embedded_home)) as instance:
            sync_shops(instance, catalog, ShopSourceResource(source="config"))
            sync_platform_pools(instance, catalog)
        yield served


class InProcessCollection:
    """`run_chain` (the in-process path of `yd-platform run`) collecting one shop of pdd
    badscore in a thread of this process, on an instance object of its own."""

    def __init__(self, catalog, home: Path, shop: str):
        self.ds = catalog.dataset("pdd", "badscore")
        self.outcome: dict = {}
        defs = build_definitions(catalog)

        def collect():
            try:
                with dg.DagsterInstance.from_config(str(home)) as instance:
                    self.outcome["result"] = run_chain(defs, instance, plan_dataset(self.ds, TICK, [shop]),
                                                       publish=False)
            except BaseException as exc:  # noqa: BLE001 - reported by `finished`
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=collect, name=f"collect-{shop}", daemon=True)
        self.thread.start()

    def run_id(self, instance) -> str | None:
        runs = instance.get_runs(dg.RunsFilter(job_name=collect_job_name(self.ds)), limit=1)
        return runs[0].run_id if runs else None

    def finished(self, instance) -> bool:
        """Whether the collection succeeded, once the thread is done (failures are shown)."""
        wait_until(lambda: not self.thread.is_alive(), f"{self.thread.name} finishing")
        assert "error" not in self.outcome, self.outcome["error"]
        failures = [e.dagster_event.message for e in instance.all_logs(self.run_id(instance))
                    if e.is_dagster_event and e.dagster_event.is_failure]
        assert not failures, failures
        return all(self.outcome["result"].collected.values())


def _first_log(instance, run_id: str, matches) -> float | None:
    return next((e.timestamp for e in instance.all_logs(run_id) if matches(e)), None)


def _message(prefix: str):
    return lambda entry: entry.user_message.startswith(prefix)


def _step_start(entry) -> bool:
    return entry.is_dagster_event and entry.dagster_event.event_type_value == "STEP_START"


def _account_activity(portal, account: str) -> list:
    return [a for a in portal.state.stats()["activity"] if a["account"] == account]


@pytest.mark.slow
def test_an_in_process_run_waits_while_its_account_is_busy(portal, embedded_home, catalog):
    pool = account_pool("pdd", "pdd_acc_01")
    with dg.DagsterInstance.from_config(str(embedded_home)) as instance:
        with holding_slot(instance, pool, HOLDER, "test", wait_seconds=60):
            collection = InProcessCollection(catalog, embedded_home, "pdd_flagship")

            def waiting() -> bool:
                run_id = collection.run_id(instance)
                return bool(run_id) and _first_log(instance, run_id, _message("waiting for pdd account pdd_acc_01"))

            wait_until(waiting, "the in-process run waiting for pdd_acc_01", proc=collection.thread)
            assert pool_use(instance, pool).holders == {HOLDER}
            assert _account_activity(portal, "pdd_acc_01") == []  # nothing downloaded meanwhile
            released_at = time.time()
        assert collection.finished(instance)
        run_id = collection.run_id(instance)
        assert _first_log(instance, run_id, _message(f"holding pool {pool}")) >= released_at
        assert _account_activity(portal, "pdd_acc_01")
        assert not pool_use(instance, pool).holders


@pytest.mark.slow
def test_in_process_runs_of_a_platform_take_at_most_its_slots(portal, embedded_home, catalog):
    pool, slots = platform_pool("pdd"), catalog.platforms["pdd"].max_concurrent_runs
    others = [f"{HOLDER} {n}" for n in range(slots)]
    with dg.DagsterInstance.from_config(str(embedded_home)) as instance:
        assert pool_limits(instance)[pool].slots == slots
        # one slot taken elsewhere: the run gets another one at once
        with holding_slot(instance, pool, others[0], "test", wait_seconds=60):
            first = InProcessCollection(catalog, embedded_home, "pdd_flagship")
            assert first.finished(instance)
        # its account was free: one line about the account's pool, when it was given back
        account = account_pool("pdd", "pdd_acc_01")
        lines = [e.user_message for e in instance.all_logs(first.run_id(instance)) if account in e.user_message]
        assert len(lines) == 1 and lines[0].startswith(f"released pool {account} after "), lines

        # every slot taken: the run waits for one
        with holding_slot(instance, pool, others[0], "test", wait_seconds=60):
            with holding_slot(instance, pool, others[1], "test", wait_seconds=60):
                collection = InProcessCollection(catalog, embedded_home, "pdd_outlet")
                [run_id] = wait_until(lambda: pool_use(instance, pool).waiting,
                                      f"the in-process run waiting in {pool}", proc=collection.thread)
                assert _account_activity(portal, "pdd_acc_02") == []
                released_at = time.time()
            assert collection.finished(instance)  # with one slot given back
        assert run_id == collection.run_id(instance)
        assert _first_log(instance, run_id, _step_start) >= released_at


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
    containers) on one instance: while the account is busy both wait, then one after
    the other holds it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "YD_COLLECT_ATTEMPTS": "1"}
    job, pool = "pdd__badscore__collect", account_pool("pdd", "pdd_acc_01")
    with DemoPortal(catalog=catalog, faults=Faults(slow_seconds=1.0)) as portal, \
            dg.DagsterInstance.from_config(str(home)) as instance:
        env.update(YD_PORTAL_URL=portal.url, YD_PORTAL_DEMO="1")
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
        sync_platform_pools(instance, catalog)  # pdd takes two at once: only the account separates these
        with holding_slot(instance, pool, HOLDER, "test", wait_seconds=60):
            procs = [subprocess.Popen([sys.executable, "-c", RUN_ONE, job, f"{day}|pdd_flagship"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for day in ("2025-10-01", "2025-10-02")]

            def both_waiting() -> bool:
                ended = [p.args for p in procs if p.poll() is not None]
                assert not ended, f"a run process ended while the account was busy: {ended}"
                return len(pool_use(instance, pool).waiting) == 2

            wait_until(both_waiting, f"both run processes waiting in {pool}")
            assert _account_activity(portal, "pdd_acc_01") == []
            released_at = time.time()
        outputs = [p.communicate(timeout=EVENT_DEADLINE_SECONDS) for p in procs]
        run_ids = [out.strip().splitlines()[-1] for out, _ in outputs]
        held = []
        for run_id in run_ids:
            run = instance.get_run_by_id(run_id)
            logs = instance.all_logs(run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS, [e.user_message for e in logs][-5:]
            held.append((_first_log(instance, run_id, _message(f"holding pool {pool}")),
                         _first_log(instance, run_id, _message(f"released pool {pool}")),
                         _first_log(instance, run_id, _message("waiting for pdd account"))))
        held.sort()
        assert all(waited for _, _, waited in held), f"a run never waited for the busy account: {held}"
        assert held[0][0] >= released_at, f"a run took {pool} while the test held it: {held}"
        assert held[1][0] >= held[0][1], f"both runs held {pool} at once: {held}"
        assert not pool_use(instance, pool).holders
