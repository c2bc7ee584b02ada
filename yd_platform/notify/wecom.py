"""WeCom (企业微信) group robot: payload builders and one checked POST.

Success is HTTP 200 *and* `errcode == 0`; errcode 45009 means the robot's 20 messages
per minute are used up. Text content is limited to 2048 bytes.
"""

from __future__ import annotations

import requests

from yd_platform.notify import logsafe

TEXT_LIMIT_BYTES = 2048
RATE_LIMITED = 45009


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


def redact(url: str) -> str:
    """The webhook URL without its key, safe for logs."""
    return url.split("?", 1)[0] + ("?key=***" if "?" in url else "")


def post_wecom(url: str, payload: dict, timeout: float = 10.0) -> dict:
    """POST one message; raise WeComError (retryable or not) unless errcode is 0."""
    logsafe.install()
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        raise WeComError(f"WeCom robot {redact(url)} unreachable: {exc.__class__.__name__}",
                         retryable=True) from None
    if resp.status_code >= 500 or resp.status_code == 429:
        raise WeComError(f"WeCom robot {redact(url)} answered HTTP {resp.status_code}", retryable=True)
    if resp.status_code != 200:
        raise WeComError(f"WeCom robot {redact(url)} answered HTTP {resp.status_code}", retryable=False)
    try:
        body = resp.json()
    except ValueError:
        raise WeComError(f"WeCom robot {redact(url)} answered non-JSON", retryable=True) from None
    code = body.get("errcode")
    if code == 0:
        return body
    if code == RATE_LIMITED:
        raise WeComRateLimited(f"WeCom robot {redact(url)} rate limited (errcode 45009)")
    raise WeComError(f"WeCom robot {redact(url)} errcode {code}: {body.get('errmsg')}",
                     retryable=code in {-1}, errcode=code)
