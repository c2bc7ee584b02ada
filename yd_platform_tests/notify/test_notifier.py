"""The notifier against a real Dagster instance, a real app database and a local webhook receiver."""

import base64
import hashlib
import hmac
import urllib.parse

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.notify.channels import dingtalk_sign
from yd_platform.notify.notifier import Notifier
from yd_platform.notify.outbox import outbox
from yd_platform.resources.app_db import engine_for
from yd_platform_tests.notify.conftest import make_config

WECOM = "/cgi-bin/webhook/send"
DING = "/robot/send"
ASSET = dg.AssetKey(["pdd", "badscore", "merged"])
KEYS = [dg.AssetCheckKey(ASSET, n) for n in ("keys_unique", "volume_normal")]


def report(instance, passed, partition="2025-10-02", check="keys_unique", severity=dg.AssetCheckSeverity.ERROR):
    """A runless evaluation; partitioned ones may be reported once per run, so the partition
    travels in metadata here (range runs record it the same way)."""
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=ASSET, check_name=check, passed=passed, severity=severity,
        description="2 duplicate keys over 4 rows" if not passed else "keys unique",
        metadata={"failing_count": 2 if not passed else 0, "sample": "pdd_flagship/a0", "partition": partition},
    ))


@pytest.fixture
def engine(tmp_path):
    return engine_for(f"sqlite:///{tmp_path / 'app.db'}")


def test_failure_message_content_and_dingtalk_signing(instance, engine, clock, receiver, channels_env):
    notifier = Notifier(engine, make_config(escalate_after_minutes=1), clock=clock)
    report(instance, passed=False)
    summary = notifier.tick(instance, KEYS)
    assert summary.sent == 1
    [post] = receiver.delivered(WECOM)
    assert post.query == {"key": "wecom-secret-key"}
    assert post.body["msgtype"] == "markdown"
    text = post.body["markdown"]["content"]
    for part in ("pdd/badscore/merged", "2025-10-02", "keys_unique", "ERROR", "failing: 2",
                 "http://dagster.example:3000/assets/pdd/badscore/merged?view=checks&check=keys_unique"):
        assert part in text, part

    clock.advance(61)
    notifier.tick(instance, KEYS)
    [ding] = receiver.delivered(DING)
    assert ding.query["access_token"] == "ding-token"
    ts = ding.query["timestamp"]
    expected = base64.b64encode(hmac.new(b"SECdingsecret", f"{ts}\nSECdingsecret".encode(), hashlib.sha256).digest())
    assert ding.query["sign"] == expected.decode()  # parse_qsl already url-decoded it
    assert urllib.parse.unquote_plus(dingtalk_sign("SECdingsecret", int(ts))) == ding.query["sign"]
    assert ding.body["msgtype"] == "markdown" and "escalated" in ding.body["markdown"]["text"]


def test_same_check_and_partition_not_resent_while_failing(instance, engine, clock, receiver, channels_env):
    notifier = Notifier(engine, make_config(), clock=clock)
    report(instance, passed=False)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    assert len(receiver.delivered(WECOM)) == 1
    report(instance, passed=False, partition="2025-10-03")
    notifier.tick(instance, KEYS)
    assert len(receiver.delivered(WECOM)) == 2


def test_rate_limit_queues_excess(instance, engine, clock, receiver, channels_env):
    notifier = Notifier(engine, make_config(per_minute=3), clock=clock)
    for day in range(1, 6):
        report(instance, passed=False, partition=f"2025-10-0{day}")
    assert notifier.tick(instance, KEYS).sent == 3
    with engine.connect() as conn:
        queued = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "queued")).scalar()
    assert queued == 2
    clock.advance(30)
    assert notifier.tick(instance, KEYS).sent == 0
    clock.advance(31)
    assert notifier.tick(instance, KEYS).sent == 2
    partitions = sorted(p.body["markdown"]["content"].split("partition: ")[1][:10] for p in receiver.delivered(WECOM))
    assert partitions == [f"2025-10-0{d}" for d in range(1, 6)]


def test_500_then_200_delivers_once_across_restart(instance, engine, clock, receiver, channels_env):
    receiver.script = [500, 500]
    report(instance, passed=False)
    first = Notifier(engine, make_config(), clock=clock)
    assert first.tick(instance, KEYS).retried == 1
    clock.advance(29)
    assert first.tick(instance, KEYS).sent == 0  # backoff (30 s) not over yet
    clock.advance(2)
    assert first.tick(instance, KEYS).retried == 1  # second 500; next try after 60 s
    clock.advance(61)
    restarted = Notifier(engine, make_config(), clock=clock)
    assert restarted.tick(instance, KEYS).sent == 1
    clock.advance(600)
    assert restarted.tick(instance, KEYS).sent == 0
    assert [p.status for p in receiver.posts] == [500, 500, 200]
    assert len(receiver.delivered(WECOM)) == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).mappings().one()
    assert row["status"] == "sent" and row["attempts"] == 3
    assert "wecom-secret-key" not in (row["last_error"] or "") and "key=***" not in (row["body"] or "")


def test_escalation_and_recovery(instance, engine, clock, receiver, channels_env):
    notifier = Notifier(engine, make_config(escalate_after_minutes=120), clock=clock)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    clock.advance(119 * 60)
    notifier.tick(instance, KEYS)
    assert receiver.delivered(DING) == []
    clock.advance(2 * 60)
    notifier.tick(instance, KEYS)
    [escalation] = receiver.delivered(DING)
    assert "unresolved for 121 minutes" in escalation.body["markdown"]["text"]
    clock.advance(3600)
    notifier.tick(instance, KEYS)
    assert len(receiver.delivered(DING)) == 1  # escalated once

    report(instance, passed=True)
    notifier.tick(instance, KEYS)
    assert "recovered" in receiver.delivered(WECOM)[-1].body["markdown"]["content"]
    assert "recovered" in receiver.delivered(DING)[-1].body["markdown"]["text"]
    report(instance, passed=True)
    notifier.tick(instance, KEYS)
    assert len(receiver.delivered(WECOM)) == 2 and len(receiver.delivered(DING)) == 2


def test_warn_alerts_and_never_escalates(instance, engine, clock, receiver, channels_env):
    notifier = Notifier(engine, make_config(escalate_after_minutes=1), clock=clock)
    report(instance, passed=False, check="volume_normal", severity=dg.AssetCheckSeverity.WARN)
    notifier.tick(instance, KEYS)
    clock.advance(3600)
    notifier.tick(instance, KEYS)
    assert "WARN" in receiver.delivered(WECOM)[0].body["markdown"]["content"]
    assert receiver.delivered(DING) == []


def test_failed_run_is_notified(instance, engine, clock, receiver, channels_env):
    @dg.op
    def boom():
        raise RuntimeError("report download failed")

    @dg.job
    def nightly():
        boom()

    nightly.execute_in_process(instance=instance, raise_on_error=False)
    Notifier(engine, make_config(), clock=clock).tick(instance, KEYS)
    [post] = receiver.delivered(WECOM)
    assert "run failed: nightly" in post.body["markdown"]["content"]
    assert "http://dagster.example:3000/runs/" in post.body["markdown"]["content"]


def test_unset_channel_env_is_skipped_not_failed(instance, engine, clock, monkeypatch):
    monkeypatch.delenv("T_WECOM_URL", raising=False)
    notifier = Notifier(engine, make_config(), clock=clock)
    report(instance, passed=False)
    assert notifier.tick(instance, KEYS).enqueued == 0


@pytest.mark.slow
def test_outbox_on_mariadb(instance, mysql_url, clock, receiver, channels_env):
    engine = sa.create_engine(mysql_url)
    receiver.script = [500]
    report(instance, passed=False)
    Notifier(engine, make_config(), clock=clock).tick(instance, KEYS)
    clock.advance(31)
    report(instance, passed=False)
    Notifier(engine, make_config(), clock=clock).tick(instance, KEYS)
    clock.advance(600)
    Notifier(engine, make_config(), clock=clock).tick(instance, KEYS)
    assert [p.status for p in receiver.posts] == [500, 200]
    engine.dispose()
