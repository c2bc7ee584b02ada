"""The channels' settings as a Dagster resource: what each channel reaches people with.

`ChannelsResource` holds, by channel name, a robot's webhook URL (and DingTalk signing
secret) and an e-mail channel's recipients, and the SMTP server every e-mail channel uses.
Built from the environment variables the config names, as `dg.EnvVar`s, when the code
location loads: the UI shows which variable, never the value, and a test swaps the
resource instead of setting variables. A channel whose variables are unset has empty
settings and cannot send (`missing` names what to set). `shadow` (from `YD_SHADOW_MODE`,
read at load and shown in the UI) makes every delivery hold its messages instead of
sending them (`outbox.shadow`).

`channel_resources()` returns every channel resource the platform's own channels need
(`alert_channels`: the channels of alerts.yaml, used by the notify sensor and the pms
services); a stage with robots of its own builds them with `robots_from_env`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
from pydantic import Field

from yd_platform.deployment import env, env_flag
from yd_platform.outbox.channel_config import SMTP_HOST_VARIABLE, ChannelConfig, load_outbox_config, robot_channel
from yd_platform.outbox.dingtalk import send_dingtalk
from yd_platform.outbox.mail import send_email
from yd_platform.outbox.shadow import shadow_from_env
from yd_platform.outbox.wecom import send_wecom

ALERT_CHANNELS = "alert_channels"
DEFAULT_SENDER = "yd-platform@localhost"


class RobotSettings(dg.Config):
    url: str = Field(default="", description="the robot's webhook URL, with its key or access_token")
    secret: str = Field(default="", description="DingTalk signing secret (empty: unsigned)")


class SmtpSettings(dg.Config):
    host: str = Field(default="", description="SMTP server (YD_SMTP_HOST)")
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = Field(default=DEFAULT_SENDER, description="From: address (YD_SMTP_FROM)")
    starttls: bool = False


class ChannelsResource(dg.ConfigurableResource):
    """Robots' webhooks and e-mail recipients by channel name, and the SMTP server."""

    robots: dict[str, RobotSettings] = Field(default_factory=dict)
    mail_to: dict[str, str] = Field(default_factory=dict, description="comma-separated recipients per e-mail channel")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    shadow: bool = Field(default=False, description="shadow mode (YD_SHADOW_MODE): hold every message, send none")

    def robot(self, name: str) -> RobotSettings:
        return self.robots.get(name) or RobotSettings()

    def recipients(self, name: str, channel: ChannelConfig) -> list[str]:
        return channel.to or [r.strip() for r in (self.mail_to.get(name) or "").split(",") if r.strip()]

    def missing(self, name: str, channel: ChannelConfig) -> list[str]:
        """The variables a channel needs that are not set (empty when it can send)."""
        if channel.is_robot:
            robot = self.robot(name)
            needs = [(channel.url_env, robot.url)]
            if channel.type == "dingtalk" and channel.secret_env:
                needs.append((channel.secret_env, robot.secret))
        else:
            needs = [(SMTP_HOST_VARIABLE, self.smtp.host)]
            if not channel.to:
                needs.append((channel.to_env, ",".join(self.recipients(name, channel))))
        return [variable for variable, value in needs if variable and not value]

    def send(self, name: str, channel: ChannelConfig, title: str, body: str, msgtype: str = "markdown") -> None:
        """Send one message through the named channel; raises `DeliveryError` when it did not go out."""
        if channel.type == "wecom":
            send_wecom(self.robot(name).url, body, msgtype, timeout=channel.timeout_seconds)
        elif channel.type == "dingtalk":
            robot = self.robot(name)
            send_dingtalk(robot.url, robot.secret or None, title, body, msgtype, timeout=channel.timeout_seconds)
        else:
            send_email(self.smtp, self.recipients(name, channel), title, body, timeout=channel.timeout_seconds)


def from_env(variable: str | None) -> dg.EnvVar | str:
    """An EnvVar reference when the variable is set, else an empty string (not set up)."""
    return dg.EnvVar(variable) if variable and env(variable) else ""


def smtp_from_env() -> SmtpSettings:
    return SmtpSettings(
        host=from_env(SMTP_HOST_VARIABLE),
        port=dg.EnvVar.int("YD_SMTP_PORT") if env("YD_SMTP_PORT") else 25,
        user=from_env("YD_SMTP_USER"),
        password=from_env("YD_SMTP_PASSWORD"),
        sender=from_env("YD_SMTP_FROM") or DEFAULT_SENDER,
        starttls=env_flag("YD_SMTP_STARTTLS"),
    )


def channels_from_env(channels: Mapping[str, ChannelConfig]) -> ChannelsResource:
    """The settings of these channels from the variables their config names."""
    robots = {name: RobotSettings(url=from_env(ch.url_env), secret=from_env(ch.secret_env))
              for name, ch in channels.items() if ch.is_robot}
    mail_to = {name: from_env(ch.to_env) for name, ch in channels.items() if ch.type == "email" and ch.to_env}
    mailing = any(ch.type == "email" for ch in channels.values())
    return ChannelsResource(robots=robots, mail_to=mail_to, smtp=smtp_from_env() if mailing else SmtpSettings(),
                            shadow=shadow_from_env())


def robots_from_env(variables: Iterable[str]) -> ChannelsResource:
    """WeCom robots named by the variables holding their webhook URLs (channel name = variable)."""
    return channels_from_env({v: robot_channel(v) for v in variables})


def channel_resources() -> dict[str, ChannelsResource]:
    """Every platform channel resource, by the key sensors and assets ask for it."""
    return {ALERT_CHANNELS: channels_from_env(load_outbox_config().channels)}


def resolved(resource: ChannelsResource) -> ChannelsResource:
    """The resource with its variables read now, for commands that run outside Dagster."""
    return resource.process_config_and_initialize()


def alert_channels_now() -> ChannelsResource:
    """The alert channels' settings as the environment holds them now (doctor, status, pms run)."""
    return resolved(channel_resources()[ALERT_CHANNELS])
