"""Where messages can go: the channels in the `notify` section of `config/alerts.yaml`.

A channel is a WeCom robot, a DingTalk robot or e-mail, with its per-minute limit and
request timeout. The file names the environment variables holding webhook URLs, secrets
and recipients, never their values (`ChannelsResource` holds those). The same section
holds the retry backoff; the routing settings beside them belong to the notify stage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yd_platform.catalog.alerts_file import read_alerts_file, section_error
from yd_platform.outbox.retry import RetryPolicy

# WeCom and DingTalk robots accept 20 messages a minute; more is refused (errcode 45009,
# or 130101 plus a 10-minute block), so a higher `per_minute` could only cause that.
ROBOT_MAX_PER_MINUTE = 20
CHANNEL_NAME_MAX = 48
SMTP_HOST_VARIABLE = "YD_SMTP_HOST"


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["wecom", "dingtalk", "email"]
    url_env: str | None = None
    secret_env: str | None = None
    to_env: str | None = None
    to: list[str] = Field(default_factory=list)
    per_minute: int = Field(default=20, ge=1)
    timeout_seconds: float = Field(default=10, gt=0, le=120,
                                   description="longest wait for one message's answer (a hanging robot costs this)")

    @model_validator(mode="after")
    def _needs(self) -> ChannelConfig:
        if self.type in ("wecom", "dingtalk") and not self.url_env:
            raise ValueError(f"a {self.type} channel needs 'url_env' (the variable holding its webhook URL)")
        if self.type == "email" and not (self.to or self.to_env):
            raise ValueError("an email channel needs 'to' or 'to_env'")
        if self.type in ("wecom", "dingtalk") and self.per_minute > ROBOT_MAX_PER_MINUTE:
            raise ValueError(f"per_minute {self.per_minute}: a {self.type} robot accepts at most "
                             f"{ROBOT_MAX_PER_MINUTE} messages per minute")
        return self

    @property
    def is_robot(self) -> bool:
        return self.type in ("wecom", "dingtalk")

    @property
    def limit_key(self) -> str | None:
        """The robot behind a webhook channel: channels sharing one webhook variable share
        its per-minute limit (None for e-mail, limited per channel)."""
        return f"{self.type}:{self.url_env}" if self.is_robot else None


def robot_channel(url_env: str) -> ChannelConfig:
    """A WeCom robot channel on the webhook in `url_env`, with the robot's limits."""
    return ChannelConfig(type="wecom", url_env=url_env)


class OutboxConfig(BaseModel):
    """The outbox's part of the `notify` section: the channels and the retry backoff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_max_seconds: float = Field(default=1800, gt=0)

    @model_validator(mode="after")
    def _short_names(self) -> OutboxConfig:
        long_names = sorted(n for n in self.channels if len(n) > CHANNEL_NAME_MAX)
        if long_names:
            raise ValueError(f"channel names longer than {CHANNEL_NAME_MAX} characters: {long_names}")
        return self

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(base_seconds=self.retry_base_seconds, max_seconds=self.retry_max_seconds)


def load_outbox_config(data: dict | None = None) -> OutboxConfig:
    """The channels and retry settings of alerts.yaml's `notify` section (its other keys
    are the notify stage's); mistakes read `alerts.yaml: notify.<field>: <what>`."""
    section = ((read_alerts_file() if data is None else data).get("notify") or {})
    own = {k: v for k, v in section.items() if k in OutboxConfig.model_fields} if isinstance(section, dict) else section
    try:
        return OutboxConfig.model_validate(own)
    except ValidationError as exc:
        raise section_error("notify", exc) from None
