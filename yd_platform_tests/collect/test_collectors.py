"""Collectors through real Chromium against the demo portal, run as Dagster jobs.

One portal serves the module; each test gets its own YD_HOME (sessions, object store)
and resets the portal's switches and counters. Chromium is launched once and reused.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from yd_platform.catalog.periods import period_for_tick
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.registry import collector_class
from yd_platform.collect.sessions import session_file
from yd_platform.collect.settings import collector_from_env
from yd_platform.definitions import build_definitions
from yd_platform.demo.data import report_rows
from yd_platform.demo.portal import DemoPortal
from yd_platform.demo.portal_state import Faults
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.partitions import raw_partition_key
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.core import object_store_from_env, shop_source_from_env

pytestmark = pytest.mark.slow

TICK = date(2025, 10, 4)  # a Saturday: weekly datasets tick too


@pytest.fixture(scope="module")
def portal(catalog):
    with DemoPortal(catalog=catalog, secret=b"test-portal-secret") as p:
        yield p


@pytest.fixture
def demo(yd_home, portal, monkeypatch):
    portal.state.reset()
    portal.state.faults = Faults(generation_seconds=0.2)
    monkeypatch.setenv("YD_PORTAL_URL", portal.url)
    monkeypatch.setenv("YD_PORTAL_DEMO", "1")
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "2")
    monkeypatch.setenv("YD_COLLECT_BACKOFF_SECONDS", "0.1")
    return portal


@pytest.fixture
def run(demo, instance, catalog):
    """Run the dataset's collect job for one shop; returns (result, store, period key)."""
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())

    def _run(platform: str, dataset: str, shop: str):
        ds = catalog.dataset(platform, dataset)
        key = period_for_tick(ds, TICK).key
        result = defs.resolve_job_def(collect_job_name(ds)).execute_in_process(
            partition_key=raw_partition_key(key, shop), instance=instance, raise_on_error=False)
        return result, object_store_from_env().client(), key

    return _run


def _materialization(result):
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _failure(result):
    [event] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    data = event.step_failure_data.user_failure_data
    return data.description, {k: v.value for k, v in data.metadata.items()}


def _local(uri: str) -> Path:
    return Path(urlsplit(uri).path)


@pytest.mark.parametrize("platform, dataset, shop", [
    ("pdd", "badscore", "pdd_flagship"),
    ("tm", "kpi_weekly", "tm_home"),
    ("jd", "store_inventory", "jd_pop"),
    ("erp", "store_data", "erp_main"),
])
def test_each_platform_downloads_its_report(run, demo, catalog, platform, dataset, shop):
    result, store, key = run(platform, dataset, shop)
    assert result.success
    obj = f"raw/{platform}/{dataset}/{key}/{shop}.xlsx"
    data = store.get_bytes(obj)
    meta = _materialization(result)
    assert meta["object"] == obj
    assert meta["bytes"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["rows"] == len(report_rows(catalog.dataset(platform, dataset), shop, key))
    assert meta["seconds"] > 0
    account = next(s.login_account for s in catalog.platforms[platform].shops if s.id == shop)
    assert demo.state.stats()["logins"] == {f"{platform}:{account}": 1}
    assert oct(session_file(platform, account).stat().st_mode & 0o777) == "0o600"


def test_second_run_reuses_the_saved_session(run, demo):
    assert run("pdd", "badscore", "pdd_outlet")[0].success
    second, _, _ = run("pdd", "quality", "pdd_outlet")
    assert second.success and _materialization(second)["logins"] == 0
    assert demo.state.stats()["logins"] == {"pdd:pdd_acc_02": 1}

    demo.state.expire_sessions()  # the back-end logged everyone out: one new login
    third, _, _ = run("pdd", "chat", "pdd_outlet")
    assert third.success and _materialization(third)["logins"] == 1
    assert demo.state.stats()["logins"] == {"pdd:pdd_acc_02": 2}


def test_captcha_fails_at_once_with_a_screenshot(run, demo):
    demo.state.faults.captcha = True
    result, store, key = run("tm", "badscore", "tm_flagship")
    assert not result.success
    message, meta = _failure(result)
    assert "manual login needed for shop tm_flagship" in message
    assert _local(meta["screenshot"]).read_bytes().startswith(b"\x89PNG")
    assert "验证码" in _local(meta["html"]).read_text(encoding="utf-8")
    kept = store.list(f"diagnostics/tm/badscore/{key}/tm_flagship")
    assert kept and all("attempt1" in o.key for o in kept)  # never retried
    assert store.list("raw/tm") == []
    assert demo.state.stats()["logins"] == {}


def test_transient_5xx_is_retried_and_succeeds(run, demo):
    demo.state.faults.fail_5xx = 1
    result, store, key = run("jd", "store_inventory", "jd_selfrun")
    assert result.success
    assert _materialization(result)["attempts"] == 2
    assert store.exists(f"raw/jd/store_inventory/{key}/jd_selfrun.xlsx")


@pytest.mark.parametrize("switch, reason", [("truncate", "truncated"), ("html_error", "HTML page")])
def test_bad_files_fail_and_are_never_stored(run, demo, switch, reason):
    setattr(demo.state.faults, switch, True)
    result, store, key = run("pdd", "badscore", "pdd_kids")
    assert not result.success
    message, meta = _failure(result)
    assert reason in message and "gave up after 2 attempts" in message
    assert _local(meta["response"]).exists()
    assert store.list("raw/") == []


def test_two_collections_for_one_account_do_not_overlap(demo, catalog):
    demo.state.faults.generation_seconds = 0.8
    settings = collector_from_env()
    jobs = [CollectJob(catalog.dataset("pdd", code), period_for_tick(catalog.dataset("pdd", code), TICK),
                       "pdd_flagship", "pdd_acc_01") for code in ("badscore", "quality")]
    results, errors = [], []

    def collect(job):
        try:
            results.append(collector_class("pdd")(settings).collect(job))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=collect, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 2
    spans = sorted((a["start"], a["end"]) for a in demo.state.stats()["activity"] if a["account"] == "pdd_acc_01")
    assert len(spans) == 2
    assert spans[0][1] <= spans[1][0], spans
    assert demo.state.stats()["logins"] == {"pdd:pdd_acc_01": 1}  # the second one reused the session


def test_slow_back_end_times_out_and_is_retried_then_fails(run, demo, monkeypatch):
    monkeypatch.setenv("YD_COLLECT_TIMEOUT_SECONDS", "0.5")
    demo.state.faults.slow_seconds = 1.5
    result, store, _ = run("erp", "store_data", "erp_main")
    assert not result.success
    message, meta = _failure(result)
    assert "gave up after 2 attempts" in message and "Timeout" in message
    assert _local(meta["screenshot"]).exists()
    assert store.list("raw/") == []


def test_crashed_browser_is_relaunched(run, demo):
    import psutil

    assert run("jd", "store_inventory", "jd_pop")[0].success  # a warm browser to crash
    def is_browser(proc) -> bool:
        try:
            return "chrom" in proc.name().lower() and "--type=" not in " ".join(proc.cmdline())
        except psutil.Error:  # already gone or a zombie
            return False

    browsers = [p for p in psutil.Process().children(recursive=True) if is_browser(p)]
    assert browsers
    for proc in browsers:
        proc.kill()
    psutil.wait_procs(browsers, timeout=10)
    result, store, key = run("jd", "store_inventory", "jd_selfrun")
    assert result.success
    assert store.exists(f"raw/jd/store_inventory/{key}/jd_selfrun.xlsx")
