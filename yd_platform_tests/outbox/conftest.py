"""The outbox's tests send through two channels on the fake robot (`outbox.helpers`)."""

from __future__ import annotations

import pytest

from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform_tests.outbox.helpers import robot_settings


@pytest.fixture
def settings(robot) -> ChannelsResource:
    """The channels' settings as the resource holds them: "wecom" and "ding" on `robot`."""
    return robot_settings(robot)
