"""Shadow mode in the outbox: a delivery holds every due message of its channels (those
whose robot is not set up too) and sends nothing; held messages keep their keys, take no
robot budget, and go out only when released. Messages sent elsewhere are recorded as sent
(imported) and never sent here."""

from __future__ import annotations

import sqlalchemy as sa

from yd_platform.outbox.channel_resources import ChannelsResource, channels_from_env
from yd_platform.outbox.delivery import Delivery
from yd_platform.outbox.enqueue import Message, enqueue
from yd_platform.outbox.imported import SentElsewhere, record_sent
from yd_platform.outbox.shadow import held_by_kind, release
from yd_platform.outbox.tables import ensure_tables, messages
from yd_platform.resources.app_db import engine_for
from yd_platform_tests.outbox.helpers import channel_configs, queue, statuses

NOW = 1_760_000_000.0


def test_a_delivery_in_shadow_mode_holds_everything_and_sends_nothing(engine, settings, robot):
    queue(engine, NOW, 2, "wecom")
    queue(engine, NOW, 2, "ding", prefix="d")
    queue(engine, NOW + 600, 1, "wecom", prefix="later")  # not due yet: left queued
    shadowed = ChannelsResource(robots={"wecom": settings.robots["wecom"]}, shadow=True)  # "ding" not set up
    summary = Delivery(engine, channel_configs(), shadowed, clock=lambda: NOW, unset="skip").run()
    assert (summary.held, summary.sent, summary.skipped, summary.shadow) == (4, 0, 0, True)
    assert robot.posts == []
    assert [s for _, s, _ in statuses(engine)] == ["held"] * 4 + ["queued"]
    assert held_by_kind(engine) == {"alert": 4}

    # shadow mode off: held messages stay unsent, the new one goes out
    later = Delivery(engine, channel_configs(), settings, clock=lambda: NOW + 600).run()
    assert later.sent == 1 and len(robot.delivered()) == 1
    with engine.begin() as conn:  # a producer queueing the same messages again changes nothing
        assert not enqueue(conn, Message("m:0:wecom", "wecom", "alert", "again", "again"), NOW + 601)
    assert release(engine, ["alert"], dry_run=True) == 4
    assert release(engine, ["alert"], now=NOW + 700) == 4
    Delivery(engine, channel_configs(), settings, clock=lambda: NOW + 700).run()
    assert len(robot.delivered()) == 5 and {s for _, s, _ in statuses(engine)} == {"sent"}


def test_the_setting_is_read_into_the_resource_when_it_loads(monkeypatch):
    monkeypatch.setenv("YD_SHADOW_MODE", "true")
    on = channels_from_env(channel_configs())
    monkeypatch.setenv("YD_SHADOW_MODE", "false")  # read at load: the resource keeps what it was given
    assert on.shadow is True and channels_from_env(channel_configs()).shadow is False


def test_messages_sent_elsewhere_are_recorded_sent_and_never_sent_here(engine, settings, robot):
    queue(engine, NOW, 1, "wecom")  # m:0:wecom queued here
    items = [SentElsewhere(Message(key, "wecom", "alert", f"t {key}", "old text"), NOW - 3600)
             for key in ("m:0:wecom", "old:1:wecom", "old:1:wecom")]
    dry = record_sent(engine, items, NOW, dry_run=True)
    assert dry == {"m:0:wecom": "marked sent", "old:1:wecom": "recorded"}
    assert [s for _, s, _ in statuses(engine)] == ["queued"]
    assert record_sent(engine, items, NOW) == dry
    assert record_sent(engine, items, NOW) == {"m:0:wecom": "already sent", "old:1:wecom": "already sent"}
    Delivery(engine, channel_configs(), settings, clock=lambda: NOW).run()
    assert robot.posts == []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(messages.c.dedupe_key, messages.c.status, messages.c.origin,
                                      messages.c.sent_at).order_by(messages.c.id)).all()
    assert rows == [("m:0:wecom", "sent", "imported", NOW - 3600), ("old:1:wecom", "sent", "imported", NOW - 3600)]


def test_an_outbox_made_before_origin_existed_gets_the_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.MetaData()
    table = sa.Table(messages.name, old, *[c.copy() for c in messages.columns if c.name != "origin"])
    engine = engine_for(url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(dedupe_key="k", channel="wecom", kind="alert", msgtype="text", title="t",
                                             body="b", status="sent", attempts=1, next_attempt_at=1, created_at=1))
    ensure_tables(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(messages.c.dedupe_key, messages.c.origin)).all() == [("k", None)]
