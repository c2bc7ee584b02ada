"""Channels end to end: e-mail through a local SMTP server, the robots' rate-limit answers
(queued, never dropped, the pause kept across a restart), config limits, and no secret in
the logs."""

import logging
import re

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.checks.rules import RuleConfigError
from yd_platform.notify.config import ChannelConfig, NotifyConfig, load_notify_config
from yd_platform.notify.notifier import Notifier
from yd_platform.notify.outbox import outbox
from yd_platform.resources.app_db import engine_for
from yd_platform_tests.notify.conftest import make_config
from yd_platform_tests.notify.smtp_receiver import SmtpReceiver

WECOM = "/cgi-bin/webhook/send"
DING = "/robot/send"
ASSET = dg.AssetKey(["pdd", "badscore", "merged"])
KEYS = [dg.AssetCheckKey(ASSET, "keys_unique")]


def fail(instance, partition="2025-10-02"):
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=ASSET, check_name="keys_unique", passed=False, severity=dg.AssetCheckSeverity.ERROR,
        description="2 duplicate keys over 4 rows",
        metadata={"failing_count": 2, "sample": "pdd_flagship/a0", "partition": partition},
    ))


def queued(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "queued")).scalar()


@pytest.fixture
def engine(tmp_path):
    return engine_for(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.slow
def test_email_over_smtp_retries_a_temporary_refusal(instance, engine, clock, monkeypatch, caplog):
    with SmtpReceiver(user="alerts", password="smtp-pass-123") as smtp:
        for name, value in {"YD_SMTP_HOST": "127.0.0.1", "YD_SMTP_PORT": str(smtp.port), "YD_SMTP_USER": "alerts",
                            "YD_SMTP_PASSWORD": "smtp-pass-123", "YD_SMTP_FROM": "yd@example.com",
                            "T_MAIL_TO": "ops@example.com, lead@example.com",
                            "YD_UI_URL": "http://dagster.example:3000"}.items():
            monkeypatch.setenv(name, value)
        config = NotifyConfig(channels={"mail": ChannelConfig(type="email", to_env="T_MAIL_TO", per_minute=30)},
                              default_channels=["mail"], retry_base_seconds=30)
        notifier = Notifier(engine, config, clock=clock)
        smtp.script = [451]
        fail(instance)
        with caplog.at_level(logging.WARNING):
            assert notifier.tick(instance, KEYS).retried == 1
            clock.advance(31)
            assert notifier.tick(instance, KEYS).sent == 1
        [mail] = smtp.mails
    assert mail.user == "alerts" and mail.sender == "yd@example.com"
    assert mail.recipients == ["ops@example.com", "lead@example.com"]
    assert mail.message["Subject"] == "[ERROR] pdd/badscore/merged keys_unique 2025-10-02"
    body = mail.message.get_content()
    for part in ("partition: 2025-10-02", "failing: 2", "severity: ERROR",
                 "http://dagster.example:3000/assets/pdd/badscore/merged?view=checks&check=keys_unique"):
        assert part in body, part
    assert "<font" not in body
    assert "SMTP 127.0.0.1" in caplog.text and "451" in caplog.text
    assert "smtp-pass-123" not in caplog.text


@pytest.mark.slow
def test_wecom_rate_limit_answer_queues_and_pauses_the_channel(instance, engine, clock, receiver, channels_env):
    receiver.script = [(200, 45009)]
    for day in (1, 2, 3):
        fail(instance, f"2025-10-0{day}")
    summary = Notifier(engine, make_config(), clock=clock).tick(instance, KEYS)
    assert (summary.sent, summary.retried, queued(engine)) == (0, 1, 3)
    assert len(receiver.posts) == 1  # the other two wait for the pause instead of meeting the limit

    clock.advance(30)
    restarted = Notifier(engine, make_config(), clock=clock)
    assert restarted.tick(instance, KEYS).sent == 0
    assert len(receiver.posts) == 1  # the pause survives a restart

    clock.advance(31)
    assert restarted.tick(instance, KEYS).sent == 3
    assert len(receiver.delivered(WECOM)) == 3 and queued(engine) == 0


@pytest.mark.slow
def test_dingtalk_rate_limit_waits_out_the_ten_minute_block(instance, engine, clock, receiver, channels_env):
    config = make_config().model_copy(update={"default_channels": ["ding"]})
    receiver.script = [(200, 130101)]
    fail(instance)
    notifier = Notifier(engine, config, clock=clock)
    assert notifier.tick(instance, KEYS).retried == 1
    clock.advance(9 * 60)
    assert notifier.tick(instance, KEYS).sent == 0
    assert len(receiver.posts) == 1
    clock.advance(61)
    assert notifier.tick(instance, KEYS).sent == 1
    assert len(receiver.delivered(DING)) == 1


@pytest.mark.slow
def test_no_webhook_secret_in_logs_or_errors(instance, engine, clock, receiver, channels_env, caplog):
    config = make_config().model_copy(update={"default_channels": ["wecom", "ding"]})
    receiver.script = [500, 500]
    fail(instance)
    with caplog.at_level(logging.DEBUG):
        summary = Notifier(engine, config, clock=clock).tick(instance, KEYS)
    assert summary.retried == 2
    with engine.connect() as conn:
        errors = " ".join(conn.execute(sa.select(outbox.c.last_error)).scalars())
    text = caplog.text + errors + str(summary)
    assert "answered HTTP 500" in text and "key=***" in text
    for secret in ("wecom-secret-key", "ding-token", "SECdingsecret"):
        assert secret not in text, secret
    assert not re.search(r"sign=(?!\*\*\*)", text)  # the signature is masked too
    assert "access_token=***" in caplog.text  # urllib3's own DEBUG request line, masked


def test_robot_limits_and_channel_names_are_checked_at_load():
    with pytest.raises(RuleConfigError, match=r"channels\.ops_wecom.*at most 20 messages per minute"):
        load_notify_config({"notify": {"channels": {"ops_wecom": {"type": "wecom", "url_env": "X",
                                                                  "per_minute": 30}}}})
    with pytest.raises(RuleConfigError, match="channel names longer than 48"):
        load_notify_config({"notify": {"channels": {"x" * 49: {"type": "email", "to": ["a@b.c"]}}}})
    mail = load_notify_config({"notify": {"channels": {"m": {"type": "email", "to": ["a@b.c"], "per_minute": 60}}}})
    assert mail.channels["m"].per_minute == 60


@pytest.mark.slow
def test_channels_on_one_robot_share_its_limit(instance, engine, clock, receiver, channels_env):
    robot = ChannelConfig(type="wecom", url_env="T_WECOM_URL", per_minute=3)
    config = NotifyConfig(channels={"ops": robot, "cs": robot}, default_channels=["ops", "cs"])
    fail(instance, "2025-10-01")
    fail(instance, "2025-10-02")
    notifier = Notifier(engine, config, clock=clock)
    assert notifier.tick(instance, KEYS).sent == 3
    assert queued(engine) == 1
    clock.advance(61)
    assert notifier.tick(instance, KEYS).sent == 1
    assert len(receiver.delivered(WECOM)) == 4
