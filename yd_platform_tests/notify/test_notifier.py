"""The notifier against a real Dagster instance, a real app database and the fake robot:
what an alert says, once per failing check and partition, escalation and recovery, failed
runs, channels that cannot send. (Delivery itself, limits and retries: the outbox's tests.)"""

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.notify.notifier import Notifier
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.tables import messages
from yd_platform_tests.notify.conftest import make_config
from yd_platform_tests.robots import DINGTALK_PATH, WECOM_PATH

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


def test_failure_message_content_and_escalation_to_dingtalk(instance, engine, clock, robot, channels):
    notifier = Notifier(engine, make_config(escalate_after_minutes=1), channels, clock=clock)
    report(instance, passed=False)
    summary = notifier.tick(instance, KEYS)
    assert summary.sent == 1
    [post] = robot.delivered(WECOM_PATH)
    assert post.query == {"key": "wecom-secret-key"}
    assert post.body["msgtype"] == "markdown"
    for part in ("pdd/badscore/merged", "2025-10-02", "keys_unique", "ERROR", "failing: 2",
                 "http://dagster.example:3000/assets/pdd/badscore/merged?view=checks&check=keys_unique"):
        assert part in post.text, part

    clock.advance(61)
    notifier.tick(instance, KEYS)
    [ding] = robot.delivered(DINGTALK_PATH)
    assert {"access_token", "timestamp", "sign"} <= set(ding.query)
    assert ding.body["msgtype"] == "markdown" and "escalated" in ding.text


def test_same_check_and_partition_not_resent_while_failing(instance, engine, clock, robot, channels):
    notifier = Notifier(engine, make_config(), channels, clock=clock)
    report(instance, passed=False)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    assert len(robot.delivered(WECOM_PATH)) == 1
    report(instance, passed=False, partition="2025-10-03")
    notifier.tick(instance, KEYS)
    assert len(robot.delivered(WECOM_PATH)) == 2


def test_alerts_over_a_robots_limit_wait_in_the_outbox(instance, engine, clock, robot, channels):
    notifier = Notifier(engine, make_config(per_minute=3), channels, clock=clock)
    for day in range(1, 6):
        report(instance, passed=False, partition=f"2025-10-0{day}")
    assert notifier.tick(instance, KEYS).sent == 3
    clock.advance(61)
    assert notifier.tick(instance, KEYS).sent == 2
    partitions = sorted(p.text.split("partition: ")[1][:10] for p in robot.delivered(WECOM_PATH))
    assert partitions == [f"2025-10-0{d}" for d in range(1, 6)]


def test_escalation_and_recovery(instance, engine, clock, robot, channels):
    notifier = Notifier(engine, make_config(escalate_after_minutes=120), channels, clock=clock)
    report(instance, passed=False)
    notifier.tick(instance, KEYS)
    clock.advance(119 * 60)
    notifier.tick(instance, KEYS)
    assert robot.delivered(DINGTALK_PATH) == []
    clock.advance(2 * 60)
    notifier.tick(instance, KEYS)
    [escalation] = robot.delivered(DINGTALK_PATH)
    assert "unresolved for 121 minutes" in escalation.text
    clock.advance(3600)
    notifier.tick(instance, KEYS)
    assert len(robot.delivered(DINGTALK_PATH)) == 1  # escalated once

    report(instance, passed=True)
    notifier.tick(instance, KEYS)
    assert "recovered" in robot.delivered(WECOM_PATH)[-1].text
    assert "recovered" in robot.delivered(DINGTALK_PATH)[-1].text
    report(instance, passed=True)
    notifier.tick(instance, KEYS)
    assert len(robot.delivered(WECOM_PATH)) == 2 and len(robot.delivered(DINGTALK_PATH)) == 2


def test_warn_alerts_and_never_escalates(instance, engine, clock, robot, channels):
    notifier = Notifier(engine, make_config(escalate_after_minutes=1), channels, clock=clock)
    report(instance, passed=False, check="volume_normal", severity=dg.AssetCheckSeverity.WARN)
    notifier.tick(instance, KEYS)
    clock.advance(3600)
    notifier.tick(instance, KEYS)
    assert "WARN" in robot.delivered(WECOM_PATH)[0].text
    assert robot.delivered(DINGTALK_PATH) == []


def test_failed_run_is_notified(instance, engine, clock, robot, channels):
    @dg.op
    def boom():
        raise RuntimeError("report download failed")

    @dg.job
    def nightly():
        boom()

    nightly.execute_in_process(instance=instance, raise_on_error=False)
    Notifier(engine, make_config(), channels, clock=clock).tick(instance, KEYS)
    [post] = robot.delivered(WECOM_PATH)
    assert "run failed: nightly" in post.text
    assert "http://dagster.example:3000/runs/" in post.text


def test_channel_without_settings_gets_nothing_queued(instance, engine, clock, robot, channels):
    only_ding = ChannelsResource(robots={"ding": channels.robots["ding"]})
    notifier = Notifier(engine, make_config(), only_ding, clock=clock)
    report(instance, passed=False)
    assert notifier.tick(instance, KEYS).enqueued == 0
    assert robot.posts == []


@pytest.mark.slow
def test_alerts_on_mariadb(instance, mysql_url, clock, robot, channels):
    engine = sa.create_engine(mysql_url)
    robot.script = [500]
    report(instance, passed=False)
    Notifier(engine, make_config(), channels, clock=clock).tick(instance, KEYS)
    clock.advance(31)
    report(instance, passed=False)
    Notifier(engine, make_config(), channels, clock=clock).tick(instance, KEYS)
    clock.advance(600)
    Notifier(engine, make_config(), channels, clock=clock).tick(instance, KEYS)
    assert [p.status for p in robot.posts] == [500, 200]
    with engine.connect() as conn:
        assert conn.execute(sa.select(messages.c.kind, messages.c.status, messages.c.attempts)).all() == [
            ("alert", "sent", 2)]
    engine.dispose()
