"""The channels end to end: e-mail through a local SMTP server, DingTalk's signature, the
WeCom text limit, no secret in logs or errors, config limits, and the channel settings as
a resource built from the environment."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import urllib.parse

import pytest
import sqlalchemy as sa

from yd_platform.catalog.alerts_file import AlertsConfigError
from yd_platform.outbox.channel_config import ChannelConfig, load_outbox_config
from yd_platform.outbox.channel_resources import (
    ChannelsResource,
    SmtpSettings,
    alert_channels_now,
    channel_resources,
)
from yd_platform.outbox.delivery import Delivery
from yd_platform.outbox.dingtalk import dingtalk_sign
from yd_platform.outbox.enqueue import Message, enqueue
from yd_platform.outbox.tables import ensure_tables, messages
from yd_platform.outbox.wecom import TEXT_LIMIT_BYTES
from yd_platform_tests.outbox.helpers import DING_SECRET, DING_TOKEN, WECOM_KEY, channel_configs, queue
from yd_platform_tests.outbox.smtp_server import SmtpServer
from yd_platform_tests.robots import DINGTALK_PATH, WECOM_PATH

ALERT_VARIABLES = ("YD_WECOM_WEBHOOK_URL", "YD_DINGTALK_WEBHOOK_URL", "YD_DINGTALK_SECRET", "YD_SMTP_HOST",
                   "YD_SMTP_PORT", "YD_SMTP_USER", "YD_SMTP_PASSWORD", "YD_SMTP_FROM", "YD_ALERT_MAIL_TO")


@pytest.mark.slow
def test_email_over_smtp_retries_a_temporary_refusal(engine, clock, caplog):
    mail = {"mail": ChannelConfig(type="email", to_env="T_MAIL_TO", per_minute=30)}
    with SmtpServer(user="alerts", password="smtp-pass-123") as smtp:
        settings = ChannelsResource(
            mail_to={"mail": "ops@example.com, lead@example.com"},
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.port, user="alerts", password="smtp-pass-123",
                              sender="yd@example.com"))
        ensure_tables(engine)
        with engine.begin() as conn:
            enqueue(conn, Message("alert:1:mail", "mail", "alert", "[ERROR] pdd/badscore/merged keys_unique",
                                  '**<font color="warning">ERROR: check keys_unique failed</font>**\n> failing: 2'),
                    clock())
        smtp.script = [451]
        with caplog.at_level(logging.WARNING):
            assert Delivery(engine, mail, settings, clock=clock).run().retried == 1
            clock.advance(31)
            assert Delivery(engine, mail, settings, clock=clock).run().sent == 1
        [sent] = smtp.mails
    assert sent.user == "alerts" and sent.sender == "yd@example.com"
    assert sent.recipients == ["ops@example.com", "lead@example.com"]
    assert sent.message["Subject"] == "[ERROR] pdd/badscore/merged keys_unique"
    body = sent.message.get_content()
    assert "ERROR: check keys_unique failed" in body and "failing: 2" in body and "<font" not in body
    assert "SMTP 127.0.0.1" in caplog.text and "451" in caplog.text
    assert "smtp-pass-123" not in caplog.text


def test_dingtalk_messages_are_signed(engine, settings, robot, clock):
    queue(engine, clock(), 1, channel="ding")
    assert Delivery(engine, channel_configs(), settings, clock=clock).run().sent == 1
    [post] = robot.delivered(DINGTALK_PATH)
    assert post.query["access_token"] == DING_TOKEN
    ts = post.query["timestamp"]
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest())
    assert post.query["sign"] == expected.decode()  # parse_qsl already url-decoded it
    assert urllib.parse.unquote_plus(dingtalk_sign(DING_SECRET, int(ts))) == post.query["sign"]
    assert post.body["msgtype"] == "markdown" and post.body["markdown"]["text"] == "body of [ERROR] m 0"


def test_wecom_text_is_cut_to_the_robots_2048_bytes(engine, settings, robot, clock):
    ensure_tables(engine)
    long_text = "超时工单，" * 400  # 6,000 bytes
    with engine.begin() as conn:
        enqueue(conn, Message("long", "wecom", "notice", "t", long_text, msgtype="text"), clock())
        enqueue(conn, Message("short", "wecom", "notice", "t", "昨日无超时工单", msgtype="text"), clock())
    assert Delivery(engine, channel_configs(), settings, clock=clock).run().sent == 2
    cut, short = [p.body for p in robot.delivered(WECOM_PATH)]
    assert cut["msgtype"] == "text" and short["text"]["content"] == "昨日无超时工单"
    content = cut["text"]["content"]
    assert len(content.encode("utf-8")) <= TEXT_LIMIT_BYTES and content.endswith("...")
    assert long_text.startswith(content.removesuffix("..."))


def test_no_webhook_secret_in_logs_or_errors(engine, settings, robot, clock, caplog):
    robot.script = [500, 500]
    queue(engine, clock(), 1, channel="wecom")
    queue(engine, clock(), 1, channel="ding")
    with caplog.at_level(logging.DEBUG):
        summary = Delivery(engine, channel_configs(), settings, clock=clock).run()
    assert summary.retried == 2
    with engine.connect() as conn:
        errors = " ".join(conn.execute(sa.select(messages.c.last_error)).scalars())
    text = caplog.text + errors + str(summary) + " ".join(summary.errors)
    assert "answered HTTP 500" in text and "key=***" in text
    for secret in (WECOM_KEY, DING_TOKEN, DING_SECRET):
        assert secret not in text, secret
    assert not re.search(r"sign=(?!\*\*\*)", text)  # the signature is masked too
    assert "access_token=***" in caplog.text  # urllib3's own DEBUG request line, masked


def test_robot_limits_and_channel_names_are_checked_at_load():
    with pytest.raises(AlertsConfigError, match=r"^alerts\.yaml: notify\.channels\.ops_wecom.*at most 20 messages"):
        load_outbox_config({"notify": {"channels": {"ops_wecom": {"type": "wecom", "url_env": "X", "per_minute": 30}}}})
    with pytest.raises(AlertsConfigError, match="channel names longer than 48"):
        load_outbox_config({"notify": {"channels": {"x" * 49: {"type": "email", "to": ["a@b.c"]}}}})
    mail = load_outbox_config({"notify": {"channels": {"m": {"type": "email", "to": ["a@b.c"], "per_minute": 60}},
                                          "default_channels": ["m"]}})
    assert mail.channels["m"].per_minute == 60


def test_channel_settings_come_from_the_variables_alerts_yaml_names(monkeypatch):
    for name in ALERT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    config = load_outbox_config()
    unset = alert_channels_now()
    assert {n: unset.missing(n, ch) for n, ch in config.channels.items()} == {
        "ops_wecom": ["YD_WECOM_WEBHOOK_URL"], "ops_dingtalk": ["YD_DINGTALK_WEBHOOK_URL", "YD_DINGTALK_SECRET"],
        "ops_mail": ["YD_SMTP_HOST", "YD_ALERT_MAIL_TO"]}

    monkeypatch.setenv("YD_WECOM_WEBHOOK_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1")
    monkeypatch.setenv("YD_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("YD_SMTP_PORT", "465")
    monkeypatch.setenv("YD_ALERT_MAIL_TO", "ops@example.com, lead@example.com")
    declared = channel_resources()["alert_channels"]
    # the resource names the variables (what the UI shows), the values are read when it is used
    assert declared.robots["ops_wecom"].url == "YD_WECOM_WEBHOOK_URL" and declared.smtp.host == "YD_SMTP_HOST"
    now = alert_channels_now()
    assert now.robot("ops_wecom").url.endswith("key=k1") and (now.smtp.host, now.smtp.port) == ("smtp.example.com", 465)
    assert now.recipients("ops_mail", config.channels["ops_mail"]) == ["ops@example.com", "lead@example.com"]
    assert [n for n, ch in config.channels.items() if not now.missing(n, ch)] == ["ops_wecom", "ops_mail"]
