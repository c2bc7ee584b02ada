"""WeCom (企业微信) group robot: the message payloads and sending one.

A text message is cut at 2048 bytes by the robot, so it is cut here first (a producer
whose text may be longer splits it into parts, see `TEXT_LIMIT_BYTES`); markdown allows
4096. errcode 45009 means the robot's 20 messages per minute are used up: the channel
waits a minute, the robot's window.
"""

from __future__ import annotations

from yd_platform.outbox.robots import post_robot, redact

TEXT_LIMIT_BYTES = 2048
MARKDOWN_LIMIT_BYTES = 4096
RATE_LIMITED = 45009
BLOCK_SECONDS = 60.0


def cut_to_bytes(text: str, limit: int) -> str:
    """`text` within `limit` UTF-8 bytes, marked "..." when cut (never inside a character)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


def text_payload(content: str, mentioned_list: list[str] | None = None,
                 mentioned_mobile_list: list[str] | None = None) -> dict:
    text: dict = {"content": cut_to_bytes(content, TEXT_LIMIT_BYTES)}
    if mentioned_list:
        text["mentioned_list"] = mentioned_list
    if mentioned_mobile_list:
        text["mentioned_mobile_list"] = mentioned_mobile_list
    return {"msgtype": "text", "text": text}


def markdown_payload(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": cut_to_bytes(content, MARKDOWN_LIMIT_BYTES)}}


def send_wecom(url: str, body: str, msgtype: str = "markdown", timeout: float = 10.0) -> None:
    """Send one message; raises `DeliveryError` unless the robot answered errcode 0."""
    payload = text_payload(body) if msgtype == "text" else markdown_payload(body)
    post_robot(url, payload, name=f"WeCom robot {redact(url)}", rate_limited_code=RATE_LIMITED,
               pause_seconds=BLOCK_SECONDS, timeout=timeout)
