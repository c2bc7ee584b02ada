"""Notifications through the platform's outbox: a WeCom message that fails is retried by
the outbox and delivered exactly once, and alert_notifications follows each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from yd_platform.outbox.channel_config import OutboxConfig
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings
from yd_platform.outbox.tables import messages
from yd_platform.pms.delivery import OutboxLink
from yd_platform_tests.clock import Clock
from yd_platform_tests.pms.database import NOW, PM, day, fast_sqlite

START = 1_773_100_000.0


@pytest.fixture
def link(tmp_path, robot) -> OutboxLink:
    config = OutboxConfig.model_validate({"channels": {"ops_wecom": {"type": "wecom", "url_env": "YD_TEST_PMS_WECOM"}},
                                          "retry_base_seconds": 30})
    channels = ChannelsResource(robots={"ops_wecom": RobotSettings(url=f"{robot.url}/wecom")})
    return OutboxLink(fast_sqlite(tmp_path / "app.db"), config, channels, clock=Clock(START))


def statuses(pms, channel):
    return [(n["status"], n["retry_count"]) for n in pms.rows("alert_notifications") if n["notify_channel"] == channel]


def test_failed_notification_is_retried_and_delivered_once(pms, link, robot):
    pms.add("issues", issue_no="I1", project_id=1, title="轴承异响", status="OPEN", assignee_id=None, due_date=day(-4))
    pms.run("check_overdue_issues", now=NOW.replace(minute=0))
    robot.script = [500]  # the robot fails the first post

    first = pms.run("send_alert_notifications", now=NOW.replace(minute=15), outbox=link)["result"]
    assert (first["queued_alerts"], first["queue_created"], first["queued_notifications"]) == (1, 2, 1)
    assert statuses(pms, "SYSTEM") == [("SENT", 0)] and statuses(pms, "WECHAT") == [("FAILED", 1)]
    assert pms.rows("alert_notifications")[0]["notify_user_id"] == PM
    assert [n["user_id"] for n in pms.notices("ALERT")] == [PM]
    assert len(robot.posts) == 1 and not robot.delivered("/wecom")

    link.clock.now += 10  # before the outbox's backoff: nothing is sent
    early = pms.run("retry_failed_notifications", now=NOW.replace(minute=30), outbox=link)["result"]
    assert (early["retry_count"], early["success_count"], early["failed_count"]) == (1, 0, 1)
    assert len(robot.posts) == 1

    link.clock.now += 30
    retried = pms.run("retry_failed_notifications", now=NOW.replace(minute=30) + timedelta(hours=1), outbox=link)["result"]
    assert (retried["success_count"], retried["abandoned_count"]) == (1, 0)
    assert statuses(pms, "WECHAT") == [("SENT", 1)]
    [post] = robot.delivered("/wecom")
    assert "轴承异响" in post.text and "@pm" in post.text

    link.clock.now += 3600  # later pushes and retries send nothing twice
    pms.run("send_alert_notifications", now=NOW.replace(minute=15) + timedelta(hours=2), outbox=link)
    pms.run("retry_failed_notifications", now=NOW.replace(minute=30) + timedelta(hours=2), outbox=link)
    assert len(robot.delivered("/wecom")) == 1 and len(pms.rows("alert_notifications")) == 2
    with link.engine.connect() as conn:
        assert conn.execute(sa.select(messages.c.status, messages.c.attempts)).all() == [("sent", 2)]


def test_immediate_alerts_respect_disabled_channels_and_quiet_hours(pms, link, robot):
    pms.add("notification_settings", user_id=PM, wechat_enabled=True, system_enabled=True, alert_notifications=True,
            quiet_hours_start="22:00", quiet_hours_end="07:00", created_at=NOW, updated_at=NOW)
    pms.add("material_shortages", project_id=1, material_code="M", material_name="m", shortage_qty=1, required_date=day(1), status="OPEN")
    night = NOW.replace(hour=23)
    summary = pms.run("generate_shortage_alerts", now=night, outbox=link)
    assert summary["notifications"]["waiting"] == 1 and not robot.posts
    wechat = [n for n in pms.rows("alert_notifications") if n["notify_channel"] == "WECHAT"][0]
    assert (wechat["status"], wechat["next_retry_at"]) == ("PENDING", (night + timedelta(days=1)).replace(hour=7))
    pms.run("send_alert_notifications", now=(night + timedelta(days=1)).replace(hour=7, minute=15), outbox=link)
    assert len(robot.delivered("/wecom")) == 1 and statuses(pms, "WECHAT") == [("SENT", 0)]
