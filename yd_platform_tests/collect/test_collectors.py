"""Collectors through real Chromium against the demo portal, run as Dagster jobs:
logins and sessions, challenges, retries, bad files, secrets (the pools that keep
accounts and platforms to their limits: instance/test_pools).

One portal serves the session (conftest); each test gets its own YD_HOME (sessions,
object store) and resets the portal's switches and counters. Chromium is launched
once and reused. The per-dataset back-end flows are in test_flows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import traceback
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from yd_platform.catalog.periods import period_for_tick
from yd_platform.collect.errors import PermanentError, SessionExpired, TransientError
from yd_platform.collect.framework import CollectJob, unix_bounds
from yd_platform.collect.manual_login import manual_login
from yd_platform.collect.platforms import collector_class
from yd_platform.collect.sessions import session_file
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.partitions import raw_partition_key
from yd_platform.definitions import build_definitions
from yd_platform.demo.portal_state import DEMO_PASSWORD
from yd_platform.instance.pools import account_pool, pool_use
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.resources.chromium import in_browser_thread, thread_browser
from yd_platform.resources.merchant_backends import collector_from_env
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.browser import is_shared_browser
from yd_platform_tests.collect.helpers import expected_rows

pytestmark = pytest.mark.slow

TICK = date(2025, 10, 4)  # a Saturday: weekly datasets tick too


@pytest.fixture
def run(demo, instance, catalog):
    """Run the dataset's collect job for one shop (on `instance` unless `on` is given);
    returns (result, store, period key). The definitions are built with the environment
    of the moment (the collector resource reads it), once per distinct environment."""
    built: dict[tuple, dg.Definitions] = {}

    def _run(platform: str, dataset: str, shop: str, on: dg.DagsterInstance | None = None):
        env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("YD_")))
        defs = built.get(env) or built.setdefault(env, build_definitions(catalog))
        on = on or instance
        sync_shops(on, catalog, shop_source_from_env())
        ds = catalog.dataset(platform, dataset)
        key = period_for_tick(ds, TICK).key
        result = defs.resolve_job_def(collect_job_name(ds)).execute_in_process(
            partition_key=raw_partition_key(key, shop), instance=on, raise_on_error=False)
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
    ("pdd", "kpi_days", "pdd_flagship"),
    ("tm", "kpi_self", "tm_home"),
    ("jd", "store_inventory", "jd_pop"),
    ("erp", "goodscount", "erp_main"),
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
    account = next(s.login_account for s in catalog.platforms[platform].shops if s.id == shop)
    job = CollectJob(catalog.dataset(platform, dataset), period_for_tick(catalog.dataset(platform, dataset), TICK),
                     shop, account)
    assert meta["rows"] == expected_rows(job)
    assert meta["seconds"] > 0
    assert demo.state.stats()["logins"] == {f"{platform}:{account}": 1}
    assert oct(session_file(platform, account).stat().st_mode & 0o777) == "0o600"


def test_second_run_reuses_the_saved_session(run, demo):
    assert run("pdd", "kpi_days", "pdd_outlet")[0].success
    second, _, _ = run("pdd", "kpi_weekly", "pdd_outlet")
    assert second.success and _materialization(second)["logins"] == 0
    assert demo.state.stats()["logins"] == {"pdd:pdd_acc_02": 1}

    demo.state.expire_sessions()  # the back-end logged everyone out: one new login
    third, _, _ = run("pdd", "kpi_monthly", "pdd_outlet")
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


def test_a_permanent_failure_is_not_retried_and_names_the_reason(run, demo, monkeypatch):
    monkeypatch.setenv("YD_PORTAL_DEMO", "0")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_01_PASSWORD", "not-the-password")
    result, store, key = run("tm", "kpi_self", "tm_flagship")
    assert not result.success
    message, meta = _failure(result)
    assert "login rejected for tm account tm_acc_01 (shop tm_flagship): 账号或密码错误" in message
    assert meta["reason"] == "PermanentError" and "gave up" not in message
    assert all("attempt1" in o.key for o in store.list(f"diagnostics/tm/kpi_self/{key}/tm_flagship"))


def test_transient_5xx_is_retried_and_succeeds(run, demo):
    demo.state.faults.fail_5xx = 1
    result, store, key = run("jd", "store_inventory", "jd_selfrun")
    assert result.success
    assert _materialization(result)["attempts"] == 2
    assert store.exists(f"raw/jd/store_inventory/{key}/jd_selfrun.xlsx")


@pytest.mark.parametrize("switch, reason", [("truncate", "truncated"), ("html_error", "HTML page")])
def test_bad_files_fail_and_are_never_stored(run, demo, switch, reason):
    setattr(demo.state.faults, switch, True)
    result, store, key = run("pdd", "kpi_days", "pdd_kids")
    assert not result.success
    message, meta = _failure(result)
    assert reason in message and "attempt2" in message  # retried once, then failed
    assert _local(meta["response"]).exists()
    assert store.list("raw/") == []


def test_slow_back_end_times_out_and_is_retried_then_fails(run, demo, monkeypatch):
    monkeypatch.setenv("YD_COLLECT_TIMEOUT_SECONDS", "0.5")
    demo.state.faults.slow_seconds = 1.5
    result, store, _ = run("erp", "goodscount", "erp_main")
    assert not result.success
    message, meta = _failure(result)
    assert "attempt2" in message and "Timeout" in message  # retried once, then failed
    assert _local(meta["screenshot"]).exists()
    assert store.list("raw/") == []


def test_crashed_browser_is_relaunched(run, demo):
    import psutil

    assert run("jd", "store_inventory", "jd_pop")[0].success  # a warm browser to crash
    def is_browser(proc) -> bool:
        """A collector's Chromium (its main process; not the page tests' shared browser)."""
        try:
            cmdline = proc.cmdline()
            return ("chrom" in proc.name().lower() and "--type=" not in " ".join(cmdline)
                    and not is_shared_browser(cmdline))
        except psutil.Error:  # already gone or a zombie
            return False

    browsers = [p for p in psutil.Process().children(recursive=True) if is_browser(p)]
    assert browsers
    for proc in browsers:
        proc.kill()
    psutil.wait_procs(browsers, timeout=120)
    result, store, key = run("jd", "store_inventory", "jd_selfrun")
    assert result.success
    assert store.exists(f"raw/jd/store_inventory/{key}/jd_selfrun.xlsx")


def test_runs_are_not_retried_when_a_person_must_act(run, demo):
    with dg.instance_for_test(overrides={"run_retries": {"enabled": True, "max_retries": 2}}) as retrying:
        demo.state.faults.captcha = True
        manual, _, _ = run("tm", "badscore", "tm_flagship", on=retrying)
        demo.state.faults.captcha = False
        demo.state.faults.html_error = True
        busy, _, _ = run("pdd", "kpi_days", "pdd_kids", on=retrying)
        assert not manual.success and not busy.success
        assert retrying.get_run_by_id(manual.run_id).tags["dagster/will_retry"] == "false"
        assert retrying.get_run_by_id(busy.run_id).tags["dagster/will_retry"] == "true"  # may pass later


def test_credentials_and_sessions_stay_out_of_runs(run, demo, instance, monkeypatch):
    secret = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setattr(demo.state, "demo_password", secret)
    monkeypatch.setenv("YD_PORTAL_DEMO", "0")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_02_USER", "tm_acc_02")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_02_PASSWORD", secret)
    good, _, _ = run("tm", "kpi_self", "tm_home")
    assert good.success and _materialization(good)["logins"] == 1
    token = _session_cookie("tm", "tm_acc_02", "cookie2")

    demo.state.expire_sessions()
    demo.state.faults.html_error = True  # a failure after a fresh login: diagnostics are kept
    bad, _, _ = run("tm", "kpi_self", "tm_home")
    assert not bad.success
    _, meta = _failure(bad)
    new_token = _session_cookie("tm", "tm_acc_02", "cookie2")
    for result in (good, bad):
        recorded = dg.serialize_value(list(instance.all_logs(result.run_id)))
        recorded += dg.serialize_value(instance.get_run_by_id(result.run_id))
        for value in (secret, token, new_token):
            assert value not in recorded
    for where in meta.values():
        if where.startswith("file:"):
            kept = _local(where).read_bytes()
            assert secret.encode() not in kept and new_token.encode() not in kept


def _session_cookie(platform: str, account: str, name: str) -> str:
    [value] = [c["value"] for c in json.loads(session_file(platform, account).read_text())["cookies"]
               if c["name"] == name]
    return value


def test_a_login_form_that_cannot_be_filled_does_not_repeat_the_password(demo, catalog, monkeypatch):
    """Playwright's call log repeats what `fill` typed; the error must not carry it."""
    secret = f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_01_PASSWORD", secret)
    monkeypatch.setenv("YD_COLLECT_TIMEOUT_SECONDS", "1")
    settings = collector_from_env()
    collector = collector_class("tm")(settings)
    ds = catalog.dataset("tm", "kpi_self")
    job = CollectJob(ds, period_for_tick(ds, TICK), "tm_flagship", "tm_acc_01")
    broken = ("<html><body><form id='login-form'><input id='fm-login-id'>"
              "<input id='fm-login-password' disabled></form></body></html>")

    def log_in():
        context = thread_browser(settings.executable_path).new_context()
        try:
            page = context.new_page()
            page.route("**/member/login.jhtml",
                       lambda route: route.fulfill(status=200, content_type="text/html", body=broken))
            collector.login(page, job)
        finally:
            context.close()

    with pytest.raises(TransientError, match="could not fill #fm-login-password") as caught:
        in_browser_thread(log_in)
    assert secret not in "".join(traceback.format_exception(caught.value))


def test_a_json_answer_instead_of_the_file_is_read_as_the_back_end_meant_it(demo, catalog):
    settings = collector_from_env()
    pdd = collector_class("pdd")(settings)
    ds = catalog.dataset("pdd", "kpi_days")
    start, end = unix_bounds(period_for_tick(ds, TICK), ds.timezone)

    def fetch_without_session():
        context = thread_browser(settings.executable_path).new_context()
        try:
            return pdd.fetch_file(context.request, pdd.url(f"chats/csReportDetail/download?starttime={start}"
                                                           f"&endtime={end}&csRemoveRefundSalesAmountGray=true&"))
        finally:
            context.close()

    with pytest.raises(SessionExpired, match="43001"):  # pdd's "log in again", not a report
        in_browser_thread(fetch_without_session)


def test_embedded_default_starts_the_demo_portal_itself(yd_home, catalog, monkeypatch):
    for name in [n for n in os.environ if n.startswith("YD_PORTAL")]:
        monkeypatch.delenv(name)
    settings = collector_from_env()
    collector = collector_class("erp")(settings)
    assert settings.demo_login and urlsplit(collector.base).hostname == "127.0.0.1"
    ds = catalog.dataset("erp", "goodscount")
    job = CollectJob(ds, period_for_tick(ds, TICK), "erp_main", "erp_acc_01")
    got = collector.collect(job)
    assert got.report.rows == expected_rows(job)


def _person_at_the_login_page(platform: str, account: str):
    """What an operator does: read the code off the captcha image, type login and code."""
    user_field, password_field, submit = collector_class(platform).login_form

    def act(page):
        image = page.get_attribute("#captcha-image", "src").split(",", 1)[1]
        code = re.search(r">(\d{4})<", base64.b64decode(image).decode()).group(1)
        page.fill(user_field, account)
        page.fill(password_field, DEMO_PASSWORD)
        page.fill("#captcha", code)
        page.click(submit)

    return act


def test_manual_login_lets_collections_past_a_captcha(run, demo, instance):
    demo.state.faults.captcha = True
    blocked, _, _ = run("tm", "kpi_self", "tm_home")
    assert not blocked.success
    assert "yd-platform login tm tm_acc_02" in _failure(blocked)[0]

    pool, person, holders = account_pool("tm", "tm_acc_02"), _person_at_the_login_page("tm", "tm_acc_02"), []

    def operator(page):
        holders.append(pool_use(instance, pool).holders)  # the account is the login's meanwhile
        person(page)

    path = manual_login("tm", "tm_acc_02", collector_from_env(), wait_seconds=300, headless=True,
                        operator=operator, instance=instance)
    assert path == session_file("tm", "tm_acc_02") and stat.S_IMODE(path.stat().st_mode) == 0o600
    [[holder]] = holders
    assert holder.startswith("yd-platform login tm tm_acc_02"), holder
    assert not pool_use(instance, pool).holders  # given back
    result, store, key = run("tm", "kpi_self", "tm_home")  # the captcha is still on
    assert result.success and _materialization(result)["logins"] == 0
    assert store.exists(f"raw/tm/kpi_self/{key}/tm_home.xlsx")
    assert demo.state.stats()["logins"] == {"tm:tm_acc_02": 1}  # the one by hand


def test_manual_login_gives_up_when_nobody_logs_in(demo, instance):
    with pytest.raises(PermanentError, match="no login on .* within 1s"):
        manual_login("jd", "jd_acc_01", collector_from_env(), wait_seconds=1, headless=True, instance=instance)
    assert not session_file("jd", "jd_acc_01").exists()
    assert not pool_use(instance, account_pool("jd", "jd_acc_01")).holders  # given back after a failure too


def test_a_saved_login_by_hand_is_what_pdd_collections_run_on(run, demo, instance, monkeypatch):
    """Pinduoduo has no automated login: without the demo password a collection stops for
    a person; after `yd-platform login` it runs on the saved session."""
    monkeypatch.setenv("YD_PORTAL_DEMO", "0")
    blocked, _, _ = run("pdd", "kpi_days", "pdd_kids")
    assert not blocked.success
    message, meta = _failure(blocked)
    assert "yd-platform login pdd pdd_acc_03" in message and meta["reason"] == "ManualLoginNeeded"
    assert _local(meta["screenshot"]).read_bytes().startswith(b"\x89PNG")

    def person(page):
        page.fill("#username", "pdd_acc_03")
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login")

    manual_login("pdd", "pdd_acc_03", collector_from_env(), wait_seconds=300, headless=True, operator=person,
                 instance=instance)
    result, store, key = run("pdd", "kpi_days", "pdd_kids")
    assert result.success and _materialization(result)["logins"] == 0
    assert store.exists(f"raw/pdd/kpi_days/{key}/pdd_kids.xlsx")
