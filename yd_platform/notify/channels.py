"""Senders for the three channels: WeCom robot, DingTalk robot (signed), e-mail (SMTP).

Every failure becomes a `DeliveryError` saying whether a retry can help. Messages never
contain the webhook key, token or signing secret: URLs go through `redact` first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import smtplib
import time
import urllib.parse
from email.message import EmailMessage

from yd_platform.notify.config import ChannelConfig
from yd_platform.notify.wecom import RATE_LIMITED, WeComError, markdown_payload, post_robot, post_wecom, redact
from yd_platform.settings import env, env_flag

DINGTALK_RATE_LIMITED = 130101
# DingTalk blocks a robot for 10 minutes once its 20 messages/minute are exceeded; asking
# again earlier only meets the block. WeCom's limit is a plain one-minute window.
DINGTALK_BLOCK_SECONDS = 600.0
WECOM_BLOCK_SECONDS = 60.0
MARKUP_TAG = re.compile(r"</?font[^>]*>")


class DeliveryError(RuntimeError):
    """`pause_seconds`: how long the whole channel should wait after a rate-limit answer."""

    def __init__(self, message: str, *, retryable: bool, rate_limited: bool = False,
                 pause_seconds: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.rate_limited = rate_limited
        self.pause_seconds = pause_seconds


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def send_wecom(url: str, title: str, body: str, timeout: float = 10.0) -> None:
    try:
        post_wecom(url, markdown_payload(body), timeout=timeout)
    except WeComError as exc:
        limited = exc.errcode == RATE_LIMITED
        raise DeliveryError(str(exc), retryable=exc.retryable, rate_limited=limited,
                            pause_seconds=WECOM_BLOCK_SECONDS if limited else None) from None


def _dingtalk_error(message: str, *, retryable: bool, errcode: int | None) -> DeliveryError:
    limited = errcode == DINGTALK_RATE_LIMITED
    return DeliveryError(message, retryable=retryable, rate_limited=limited,
                         pause_seconds=DINGTALK_BLOCK_SECONDS if limited else None)


def send_dingtalk(url: str, secret: str | None, title: str, body: str, timestamp_ms: int | None = None,
                  timeout: float = 10.0) -> None:
    target = dingtalk_signed_url(url, secret, timestamp_ms or int(time.time() * 1000)) if secret else url
    post_robot(target, {"msgtype": "markdown", "markdown": {"title": title, "text": body}},
               name=f"DingTalk robot {redact(url, '***')}", rate_limited_code=DINGTALK_RATE_LIMITED,
               error=_dingtalk_error, timeout=timeout)


def send_email(recipients: list[str], title: str, body: str, timeout: float = 20.0) -> None:
    host = env("YD_SMTP_HOST")
    port = int(env("YD_SMTP_PORT", "25") or 25)
    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = env("YD_SMTP_FROM", "yd-platform@localhost")
    msg["To"] = ", ".join(recipients)
    msg.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if env_flag("YD_SMTP_STARTTLS"):
                smtp.starttls()
            if env("YD_SMTP_USER"):
                smtp.login(env("YD_SMTP_USER"), env("YD_SMTP_PASSWORD", ""))
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {host}:{port} answered {exc.smtp_code}", retryable=exc.smtp_code >= 400 and exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {host}:{port} failed: {exc.__class__.__name__}", retryable=True) from None


def deliver(channel: ChannelConfig, title: str, body: str) -> None:
    """Send one message through a configured channel (its variables must be set)."""
    if channel.type == "wecom":
        send_wecom(env(channel.url_env), title, body, timeout=channel.timeout_seconds)
    elif channel.type == "dingtalk":
        send_dingtalk(env(channel.url_env), env(channel.secret_env) if channel.secret_env else None, title, body,
                      timeout=channel.timeout_seconds)
    else:
        recipients = channel.to or [r.strip() for r in (env(channel.to_env) or "").split(",") if r.strip()]
        send_email(recipients, title, plain_text(body), timeout=channel.timeout_seconds)


def plain_text(body: str) -> str:
    """The markdown body without the robots' colour tags, for a plain-text e-mail."""
    return MARKUP_TAG.sub("", body)
