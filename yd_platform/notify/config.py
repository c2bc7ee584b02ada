"""Where alert messages go: the `notify` section of `config/alerts.yaml`.

Channel URLs, secrets and recipients are named by environment variable, never written in
the file; a channel whose variables are unset is disabled rather than failing the load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yd_platform.catalog.yaml_files import dotted
from yd_platform.checks.rules import RuleConfigError, default_alerts_path, read_alerts_file
from yd_platform.settings import env

# WeCom and DingTalk robots accept 20 messages a minute; more is refused (errcode 45009,
# or 130101 plus a 10-minute block), so a higher `per_minute` could only cause that.
ROBOT_MAX_PER_MINUTE = 20
CHANNEL_NAME_MAX = 48


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
    def limit_key(self) -> str | None:
        """The robot behind a webhook channel: channels sharing one webhook variable share
        its per-minute limit (None for e-mail, limited per channel)."""
        return f"{self.type}:{self.url_env}" if self.type in ("wecom", "dingtalk") else None

    def missing_env(self) -> list[str]:
        """Variables this channel needs that are not set (empty when it can send)."""
        names = [self.url_env] if self.type != "email" else ["YD_SMTP_HOST"]
        if self.type == "dingtalk" and self.secret_env:
            names.append(self.secret_env)
        if self.type == "email" and not self.to:
            names.append(self.to_env)
        return [n for n in names if n and not env(n)]


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    default_channels: list[str] = Field(default_factory=list)
    escalation_channels: list[str] = Field(default_factory=list)
    escalate_after_minutes: float = Field(default=120, gt=0)
    notify_run_failures: bool = True
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_max_seconds: float = Field(default=1800, gt=0)

    @model_validator(mode="after")
    def _known_channels(self) -> NotifyConfig:
        long_names = sorted(n for n in self.channels if len(n) > CHANNEL_NAME_MAX)
        if long_names:
            raise ValueError(f"channel names longer than {CHANNEL_NAME_MAX} characters: {long_names}")
        for field in ("default_channels", "escalation_channels"):
            unknown = sorted(set(getattr(self, field)) - set(self.channels))
            if unknown:
                raise ValueError(f"'{field}' names unknown channels {unknown}")
        return self


def load_notify_config(data: dict | None = None) -> NotifyConfig:
    """The `notify` section of alerts.yaml (read through the shared YAML reader);
    mistakes read `alerts.yaml: notify.<field>: <what>` like every config file's."""
    data = read_alerts_file() if data is None else data
    try:
        return NotifyConfig.model_validate(data.get("notify") or {})
    except ValidationError as exc:
        problems = "; ".join(f"{dotted(('notify', *e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                             for e in exc.errors())
        raise RuleConfigError(f"{default_alerts_path().name}: {problems}") from None
