"""DingTalk group robot, signed: the signature and sending one message.

errcode 130101 means the robot's 20 messages per minute were exceeded, and DingTalk then
blocks it for 10 minutes; asking earlier only meets the block, so the channel waits that long.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from yd_platform.outbox.robots import post_robot, redact

RATE_LIMITED = 130101
BLOCK_SECONDS = 600.0


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def send_dingtalk(url: str, secret: str | None, title: str, body: str, msgtype: str = "markdown",
                  timestamp_ms: int | None = None, timeout: float = 10.0) -> None:
    """Send one message (signed when a secret is set); raises `DeliveryError` unless errcode 0."""
    target = dingtalk_signed_url(url, secret, timestamp_ms or int(time.time() * 1000)) if secret else url
    payload = ({"msgtype": "text", "text": {"content": body}} if msgtype == "text"
               else {"msgtype": "markdown", "markdown": {"title": title, "text": body}})
    post_robot(target, payload, name=f"DingTalk robot {redact(url, '***')}", rate_limited_code=RATE_LIMITED,
               pause_seconds=BLOCK_SECONDS, timeout=timeout)
