"""Saved sessions are private files; the account lock lets one collection in at a time,
platform slots as many as configured."""

import stat
import threading
import time

import dagster as dg
import pytest

from yd_platform.collect.errors import TransientError
from yd_platform.collect.sessions import account_lock, load_session, platform_slot, save_session, session_file
from yd_platform.collect.settings import collector_from_env, credential_var, credentials
from yd_platform.pipeline.assets import build_dataset_assets


def test_session_file_is_owner_only_and_round_trips(yd_home):
    state = {"cookies": [{"name": "yd_session_pdd", "value": "x"}], "origins": []}
    path = save_session("pdd", "pdd_acc_01", state)
    assert path == session_file("pdd", "pdd_acc_01")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_session("pdd", "pdd_acc_01") == state
    path.write_text("{broken")
    assert load_session("pdd", "pdd_acc_01") is None


def test_account_lock_excludes_other_threads(yd_home):
    inside, overlaps = [], []

    def work():
        with account_lock("jd", "jd_acc_01", wait_seconds=30):
            if inside:
                overlaps.append(True)
            inside.append(1)
            time.sleep(0.2)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []

    with account_lock("jd", "jd_acc_01", wait_seconds=5):
        with pytest.raises(TransientError, match="busy"):
            with account_lock("jd", "jd_acc_01", wait_seconds=0.3):
                pass
        with account_lock("jd", "jd_acc_02", wait_seconds=0.3):
            pass  # another account is not blocked


def test_credentials_from_env_or_demo_default(monkeypatch):
    assert credential_var("pdd", "pdd-acc.01", "USER") == "YD_CRED_PDD_PDD_ACC_01_USER"
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_01_USER", "shop-owner")
    monkeypatch.setenv("YD_CRED_TM_TM_ACC_01_PASSWORD", "s3cret")
    assert credentials("tm", "tm_acc_01", demo_login=False) == ("shop-owner", "s3cret")
    assert credentials("tm", "tm_acc_02", demo_login=True)[0] == "tm_acc_02"
    with pytest.raises(Exception, match="YD_CRED_TM_TM_ACC_02_PASSWORD"):
        credentials("tm", "tm_acc_02", demo_login=False)


def test_settings_from_env(monkeypatch):
    for name in ("YD_PORTAL_URL", "YD_PORTAL_URL_JD", "YD_PORTAL_DEMO"):
        monkeypatch.delenv(name, raising=False)
    assert collector_from_env().demo_login is True  # embedded demo portal
    monkeypatch.setenv("YD_PORTAL_URL", "https://portal.example.com/")
    monkeypatch.setenv("YD_PORTAL_URL_JD", "https://jd.example.com")
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "5")
    settings = collector_from_env()
    assert settings.demo_login is False
    assert settings.attempts == 5
    assert settings.base_url("pdd") == "https://portal.example.com/pdd"
    assert settings.base_url("jd") == "https://jd.example.com"
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "many")
    with pytest.raises(ValueError, match="YD_COLLECT_ATTEMPTS"):
        collector_from_env()


def test_platform_slots_let_in_as_many_as_configured(yd_home):
    with platform_slot("pdd", 2, wait_seconds=1) as first, platform_slot("pdd", 2, wait_seconds=1) as second:
        assert first != second
        with pytest.raises(TransientError, match="all 2 pdd collection slots are busy"):
            with platform_slot("pdd", 2, wait_seconds=0.3):
                pass
        with platform_slot("jd", 1, wait_seconds=0.3):
            pass  # another platform has its own slots
    with platform_slot("pdd", 2, wait_seconds=0.3):
        pass  # freed again
    with platform_slot("pdd", 0, wait_seconds=0) as unlimited:
        assert unlimited is None


def test_collect_steps_retry_through_dagster_with_backoff_and_jitter(catalog, monkeypatch):
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "4")
    monkeypatch.setenv("YD_COLLECT_BACKOFF_SECONDS", "2")
    [raw, _, _] = build_dataset_assets(catalog.dataset("pdd", "badscore"))
    policy = raw.op.retry_policy
    assert (policy.max_retries, policy.delay) == (3, 2.0)
    assert policy.backoff is dg.Backoff.EXPONENTIAL and policy.jitter is dg.Jitter.PLUS_MINUS
    assert raw.op.pool == "collect_pdd"
