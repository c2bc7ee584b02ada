"""Saved sessions are private files; credentials and settings come from the environment;
collect steps are retried by Dagster and wait in their platform's pool (who holds which
pool, and who waits: instance/test_pools)."""

import stat

import dagster as dg
import pytest

from yd_platform.collect.credentials import credential_var, credentials
from yd_platform.collect.sessions import load_session, save_session, session_file
from yd_platform.resources.merchant_backends import collector_from_env
from yd_platform_tests.dataset_assets import dataset_assets


def test_session_file_is_owner_only_and_round_trips(yd_home):
    state = {"cookies": [{"name": "yd_session_pdd", "value": "x"}], "origins": []}
    path = save_session("pdd", "pdd_acc_01", state)
    assert path == session_file("pdd", "pdd_acc_01")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_session("pdd", "pdd_acc_01") == state
    path.write_text("{broken")
    assert load_session("pdd", "pdd_acc_01") is None


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


def test_collect_steps_retry_through_dagster_with_backoff_and_jitter(catalog, monkeypatch):
    monkeypatch.setenv("YD_COLLECT_ATTEMPTS", "4")
    monkeypatch.setenv("YD_COLLECT_BACKOFF_SECONDS", "2")
    [raw, _, _] = dataset_assets(catalog.dataset("pdd", "badscore"))
    policy = raw.op.retry_policy
    assert (policy.max_retries, policy.delay) == (3, 2.0)
    assert policy.backoff is dg.Backoff.EXPONENTIAL and policy.jitter is dg.Jitter.PLUS_MINUS
    assert raw.op.pool == "collect_pdd"
