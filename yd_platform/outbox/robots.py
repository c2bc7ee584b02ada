"""One checked POST to a group robot (WeCom and DingTalk answer alike).

Success is HTTP 200 *and* `errcode == 0`. Unreachable, HTTP 5xx/429, non-JSON and
errcode -1 are worth a retry; the robot's rate-limit errcode pauses the channel.
Errors name the robot by its URL without the query, where the robots carry key, token
and signature.
"""

from __future__ import annotations

import requests

from yd_platform.outbox import logsafe
from yd_platform.outbox.errors import DeliveryError

# Every robot POST goes through this module, so importing it is enough to keep webhook
# secrets out of urllib3's DEBUG request lines.
logsafe.install()


def redact(url: str, masked: str = "key=***") -> str:
    """The webhook URL without its query, safe for logs; `masked` stands in for the query."""
    return url.split("?", 1)[0] + (f"?{masked}" if "?" in url else "")


def post_robot(url: str, payload: dict, *, name: str, rate_limited_code: int, pause_seconds: float,
               timeout: float = 10.0) -> dict:
    """POST one message; return the robot's answer when errcode is 0, else raise
    `DeliveryError`. `name` labels the robot and must not contain the URL's secrets."""
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise DeliveryError(f"{name} unreachable: {exc.__class__.__name__}", retryable=True) from None
    if resp.status_code != 200:
        raise DeliveryError(f"{name} answered HTTP {resp.status_code}",
                            retryable=resp.status_code >= 500 or resp.status_code == 429)
    try:
        body = resp.json()
    except ValueError:
        raise DeliveryError(f"{name} answered non-JSON", retryable=True) from None
    code = body.get("errcode")
    if code == 0:
        return body
    if code == rate_limited_code:
        raise DeliveryError(f"{name} rate limited (errcode {rate_limited_code})", retryable=True,
                            rate_limited=True, pause_seconds=pause_seconds)
    raise DeliveryError(f"{name} errcode {code}: {body.get('errmsg')}", retryable=code == -1)
