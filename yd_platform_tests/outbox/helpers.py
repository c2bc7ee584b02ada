"""Two alert channels on the fake robot (a WeCom one and a signed DingTalk one), their
settings as the resource holds them, and messages queued in and read from the outbox."""

from __future__ import annotations

import sqlalchemy as sa

from yd_platform.outbox.channel_config import ChannelConfig
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings
from yd_platform.outbox.enqueue import Message, enqueue
from yd_platform.outbox.tables import ensure_tables, messages
from yd_platform_tests.robots import DINGTALK_PATH, WECOM_PATH

WECOM_KEY = "wecom-secret-key"
DING_TOKEN, DING_SECRET = "ding-token", "SECdingsecret"


def channel_configs(per_minute: int = 20, timeout: float = 10) -> dict[str, ChannelConfig]:
    """Channel "wecom" (WeCom) and "ding" (DingTalk, signed), as alerts.yaml declares channels."""
    return {"wecom": ChannelConfig(type="wecom", url_env="T_WECOM_URL", per_minute=per_minute,
                                   timeout_seconds=timeout),
            "ding": ChannelConfig(type="dingtalk", url_env="T_DING_URL", secret_env="T_DING_SECRET",
                                  per_minute=per_minute, timeout_seconds=timeout)}


def robot_settings(robot) -> ChannelsResource:
    """The settings of `channel_configs`' channels, both on the fake robot `robot`."""
    return ChannelsResource(robots={
        "wecom": RobotSettings(url=robot.webhook(WECOM_PATH, f"key={WECOM_KEY}")),
        "ding": RobotSettings(url=robot.webhook(DINGTALK_PATH, f"access_token={DING_TOKEN}"), secret=DING_SECRET)})


def queue(engine: sa.Engine, now: float, count: int, channel: str = "wecom", kind: str = "alert",
          partition_key: str | None = None, prefix: str = "m") -> list[str]:
    """Queue `count` messages; returns their titles."""
    ensure_tables(engine)
    titles = [f"[ERROR] {prefix} {i}" for i in range(count)]
    with engine.begin() as conn:
        for i, title in enumerate(titles):
            enqueue(conn, Message(f"{prefix}:{i}:{channel}", channel, kind, title, f"body of {title}",
                                  partition_key=partition_key), now)
    return titles


def statuses(engine: sa.Engine) -> list[tuple[str, str, int]]:
    """(dedupe key, status, attempts) of every message, oldest first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(messages.c.dedupe_key, messages.c.status,
                                                         messages.c.attempts).order_by(messages.c.id))]
