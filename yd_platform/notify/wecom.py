"""WeCom (企业微信) group robot: payload builders and one checked POST.

Success is HTTP 200 *and* `errcode == 0`; errcode 45009 means the robot's 20 messages
per minute are used up. Text content is limited to 2048 bytes. DingTalk's robot answers
the same way (with its own rate-limit errcode), so `post_robot` serves both.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from yd_platform.notify import logsafe

TEXT_LIMIT_BYTES = 2048
RATE_LIMITED = 45009

# Every robot POST goes through this module, so importing it is enough to keep webhook
# secrets out of urllib3's DEBUG request lines.
logsafe.install()


class WeComError(RuntimeError):
    """The robot refused or failed the message; `retryable` says whether to try again."""

    def __init__(self, message: str, *, retryable: bool, errcode: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.errcode = errcode


class WeComRateLimited(WeComError):
    def __init__(self, message: str):
        super().__init__(message, retryable=True, errcode=RATE_LIMITED)


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


def text_payload(content: str, mentioned_list: list[str] | None = None,
                 mentioned_mobile_list: list[str] | None = None) -> dict:
    text: dict = {"content": _truncate_bytes(content, TEXT_LIMIT_BYTES)}
    if mentioned_list:
        text["mentioned_list"] = mentioned_list
    if mentioned_mobile_list:
        text["mentioned_mobile_list"] = mentioned_mobile_list
    return {"msgtype": "text", "text": text}


def markdown_payload(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": _truncate_bytes(content, 4096)}}


def redact(url: str, masked: str = "key=***") -> str:
    """The webhook URL without its query (where the robots carry key, token and
    signature), safe for logs; `masked` stands in for the query."""
    return url.split("?", 1)[0] + (f"?{masked}" if "?" in url else "")


def post_robot(url: str, payload: dict, *, name: str, rate_limited_code: int,
               error: Callable[..., Exception], timeout: float = 10.0) -> dict:
    """POST one message to a group robot; return its answer when errcode is 0.

    Otherwise raise `error(message, retryable=..., errcode=...)`, the channel's own
    exception: unreachable, HTTP 5xx/429, non-JSON and errcode -1 are worth a retry, and
    so is `rate_limited_code` (errcode then set to it). `name` labels the robot in the
    message and must not contain the URL's secrets. errcode is None when the robot did
    not answer one.
    """
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise error(f"{name} unreachable: {exc.__class__.__name__}", retryable=True, errcode=None) from None
    if resp.status_code != 200:
        raise error(f"{name} answered HTTP {resp.status_code}",
                    retryable=resp.status_code >= 500 or resp.status_code == 429, errcode=None)
    try:
        body = resp.json()
    except ValueError:
        raise error(f"{name} answered non-JSON", retryable=True, errcode=None) from None
    code = body.get("errcode")
    if code == 0:
        return body
    if code == rate_limited_code:
        raise error(f"{name} rate limited (errcode {rate_limited_code})", retryable=True, errcode=code)
    raise error(f"{name} errcode {code}: {body.get('errmsg')}", retryable=code == -1, errcode=code)


def _wecom_error(message: str, *, retryable: bool, errcode: int | None) -> WeComError:
    if errcode == RATE_LIMITED:
        return WeComRateLimited(message)
    return WeComError(message, retryable=retryable, errcode=errcode)


def post_wecom(url: str, payload: dict, timeout: float = 10.0) -> dict:
    """POST one message; raise WeComError (retryable or not) unless errcode is 0,
    WeComRateLimited when the robot's per-minute limit is used up."""
    return post_robot(url, payload, name=f"WeCom robot {redact(url)}", rate_limited_code=RATE_LIMITED,
                      error=_wecom_error, timeout=timeout)
