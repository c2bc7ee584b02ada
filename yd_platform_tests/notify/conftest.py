"""The notify stage's tests: its routing config and the channels' settings on the fake robot."""

import pytest

from yd_platform.notify.config import NotifyConfig
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform_tests.outbox.helpers import channel_configs, robot_settings


@pytest.fixture
def channels(robot, monkeypatch) -> ChannelsResource:
    """WeCom channel "wecom" and signed DingTalk channel "ding" on the fake robot; links in
    messages point at a known UI address."""
    monkeypatch.setenv("YD_UI_URL", "http://dagster.example:3000")
    return robot_settings(robot)


def make_config(per_minute: int = 20, escalate_after_minutes: float = 120) -> NotifyConfig:
    return NotifyConfig(
        channels=channel_configs(per_minute),
        default_channels=["wecom"],
        escalation_channels=["ding"],
        escalate_after_minutes=escalate_after_minutes,
        retry_base_seconds=30,
        retry_max_seconds=600,
    )
