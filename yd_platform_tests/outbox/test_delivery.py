"""Delivery against a real app database and the fake robot: per-minute limits (shared by the
channels of one robot, the window moving on), retries with backoff across a restart, a
robot's rate-limit block kept across a restart, attempts bounded, channels without settings
waiting or skipped, unconfirmed sends, and a delivery's scope."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from yd_platform.outbox.channel_config import ChannelConfig
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings
from yd_platform.outbox.claims import claim_next
from yd_platform.outbox.delivery import Delivery, Scope
from yd_platform.outbox.enqueue import Message, enqueue
from yd_platform.outbox.retry import RetryPolicy
from yd_platform.outbox.tables import ensure_tables, messages
from yd_platform.resources.app_db import engine_for
from yd_platform_tests.outbox.helpers import channel_configs, queue, robot_settings, statuses
from yd_platform_tests.robots import DINGTALK_PATH, WECOM_PATH


def delivery(engine, settings, clock, **kwargs) -> Delivery:
    config = kwargs.pop("channels", None) or channel_configs(kwargs.pop("per_minute", 20))
    return Delivery(engine, config, settings, clock=clock, **kwargs)


def test_per_minute_limit_queues_the_excess_until_the_window_moves_on(engine, settings, robot, clock):
    titles = queue(engine, clock(), 5)
    assert delivery(engine, settings, clock, per_minute=3).run().sent == 3
    assert Counter(s for _, s, _ in statuses(engine)) == Counter({"sent": 3, "queued": 2})
    clock.advance(30)
    assert delivery(engine, settings, clock, per_minute=3).run().sent == 0
    clock.advance(31)
    assert delivery(engine, settings, clock, per_minute=3).run().sent == 2
    assert [p.text for p in robot.delivered(WECOM_PATH)] == [f"body of {t}" for t in titles]  # oldest first


def test_channels_on_one_robot_share_its_limit(engine, robot, clock):
    shared = ChannelConfig(type="wecom", url_env="T_WECOM_URL", per_minute=3)
    url = RobotSettings(url=robot.webhook())
    settings = ChannelsResource(robots={"ops": url, "cs": url})
    queue(engine, clock(), 2, channel="ops", prefix="ops")
    queue(engine, clock(), 2, channel="cs", prefix="cs")
    assert delivery(engine, settings, clock, channels={"ops": shared, "cs": shared}).run().sent == 3
    clock.advance(61)
    assert delivery(engine, settings, clock, channels={"ops": shared, "cs": shared}).run().sent == 1
    assert len(robot.delivered(WECOM_PATH)) == 4


def test_500_then_200_is_delivered_once_with_backoff_across_a_restart(engine, settings, robot, clock):
    robot.script = [500, 500]
    queue(engine, clock(), 1)
    first = delivery(engine, settings, clock)
    assert first.run().retried == 1
    clock.advance(29)
    assert first.run().sent == 0  # backoff (30 s) not over yet
    clock.advance(2)
    assert first.run().retried == 1  # second 500; next try after 60 s
    clock.advance(61)
    assert delivery(engine, settings, clock).run().sent == 1  # a new process
    clock.advance(600)
    assert delivery(engine, settings, clock).run().sent == 0
    assert [p.status for p in robot.posts] == [500, 500, 200]
    assert statuses(engine) == [("m:0:wecom", "sent", 3)]


def test_failed_channel_is_not_asked_again_in_the_same_delivery(engine, settings, robot, clock):
    robot.answer = 500
    queue(engine, clock(), 4)
    summary = delivery(engine, settings, clock).run()
    assert (summary.sent, summary.retried, len(robot.posts)) == (0, 1, 1)
    assert [a for _, _, a in statuses(engine)] == [1, 0, 0, 0]


def test_wecom_rate_limit_answer_pauses_the_channel_across_a_restart(engine, settings, robot, clock):
    robot.script = [(200, 45009)]
    queue(engine, clock(), 3)
    summary = delivery(engine, settings, clock).run()
    assert (summary.sent, summary.retried, summary.rate_limited) == (0, 1, True)
    assert len(robot.posts) == 1  # the other two wait for the pause instead of meeting the limit
    assert [(s, a) for _, s, a in statuses(engine)] == [("queued", 0)] * 3  # not the messages' fault

    clock.advance(30)
    assert delivery(engine, settings, clock).run().sent == 0  # a restart keeps the pause
    assert len(robot.posts) == 1
    clock.advance(31)
    assert delivery(engine, settings, clock).run().sent == 3


def test_dingtalk_rate_limit_waits_out_the_ten_minute_block(engine, settings, robot, clock):
    robot.script = [(200, 130101)]
    queue(engine, clock(), 1, channel="ding")
    assert delivery(engine, settings, clock).run().retried == 1
    clock.advance(9 * 60)
    assert delivery(engine, settings, clock).run().sent == 0
    assert len(robot.posts) == 1
    clock.advance(61)
    assert delivery(engine, settings, clock).run().sent == 1
    assert len(robot.delivered(DINGTALK_PATH)) == 1


def test_attempts_are_bounded(engine, settings, robot, clock):
    robot.answer = 500
    queue(engine, clock(), 2)
    retry = RetryPolicy(base_seconds=30, max_attempts=3)
    for _ in range(5):
        summary = delivery(engine, settings, clock, retry=retry).run()
        clock.advance(3600)
    assert summary.failed == 0  # the first gave up earlier; the second is on its way
    assert statuses(engine) == [("m:0:wecom", "failed", 3), ("m:1:wecom", "queued", 2)]
    assert len(robot.posts) == 5


def test_channel_without_settings_waits_or_is_skipped(engine, robot, clock):
    queue(engine, clock(), 2)
    unset = ChannelsResource()
    waiting = delivery(engine, unset, clock).run()
    assert (waiting.sent, waiting.disabled) == (0, ["wecom"])
    assert [s for _, s, _ in statuses(engine)] == ["queued", "queued"]

    skipped = delivery(engine, unset, clock, unset="skip").run()
    assert skipped.skipped == 2
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(messages.c.last_error)).scalars()) == {"T_WECOM_URL unset"}
    assert delivery(engine, robot_settings(robot), clock).run().sent == 0  # set up later: no flood
    assert robot.posts == []


def test_a_send_cut_short_by_a_crash_is_resent_or_reported(engine, settings, robot, clock):
    queue(engine, clock(), 1)
    assert claim_next(engine, clock(), lease_seconds=70)["dedupe_key"] == "m:0:wecom"  # a sender that died
    clock.advance(71)
    once = delivery(engine, settings, clock, retry=RetryPolicy(resend_unconfirmed=False)).run()
    assert (once.sent, once.unconfirmed) == (0, ["m:0:wecom"])
    assert robot.posts == []
    assert delivery(engine, settings, clock).run().sent == 1  # at least once: sent after the lease
    assert statuses(engine) == [("m:0:wecom", "sent", 1)]


def test_a_delivery_sends_only_its_scope(engine, settings, robot, clock):
    queue(engine, clock(), 2, kind="reward", partition_key="2025-06|BJ", prefix="bj")
    queue(engine, clock(), 1, kind="reward", partition_key="2025-06|SH", prefix="sh")
    queue(engine, clock(), 1, kind="alert", prefix="alert")
    summary = delivery(engine, settings, clock).run(Scope(("reward",), "2025-06|BJ"))
    assert summary.sent == 2
    assert [k for k, s, _ in statuses(engine) if s == "sent"] == ["bj:0:wecom", "bj:1:wecom"]


def test_long_dedupe_keys_fit_and_still_dedupe(engine):
    ensure_tables(engine)
    key = "escalate:" + "pdd/badscore/merged:shops_present:" * 10
    with engine.begin() as conn:
        assert enqueue(conn, Message(key, "c", "alert", "t", "b"), 1.0)
        assert not enqueue(conn, Message(key, "c", "alert", "t", "b"), 2.0)
        assert enqueue(conn, Message(key + "x", "c", "alert", "t", "b"), 3.0)
        stored = conn.execute(sa.select(messages.c.dedupe_key)).scalars().all()
    assert len(stored) == 2 and all(len(k) <= 255 for k in stored)


@pytest.mark.slow
def test_retry_and_dedupe_on_mariadb(mysql_url, settings, robot, clock):
    engine = engine_for(mysql_url)
    robot.script = [500]
    queue(engine, clock(), 1)
    assert delivery(engine, settings, clock).run().retried == 1
    queue(engine, clock(), 1)  # the same message handed on again: nothing new
    clock.advance(31)
    assert delivery(engine, settings, clock).run().sent == 1
    clock.advance(600)
    assert delivery(engine, settings, clock).run().sent == 0
    assert [p.status for p in robot.posts] == [500, 200]
    assert statuses(engine) == [("m:0:wecom", "sent", 2)]
    engine.dispose()
