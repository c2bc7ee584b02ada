"""The request and answer objects the demo back-ends work with (no server plumbing)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import cookies
from typing import Any
from urllib.parse import parse_qs, quote

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PortalError(Exception):
    """A request the demo cannot serve (bad path, missing parameter): a plain HTTP error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    ctype: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = None          # a JSON answer before serialising (the `rename_field` switch edits it)
    jsonp: str | None = None     # callback name of a JSONP answer


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None,
               jsonp: str | None = None) -> Reply:
    return Reply(status, b"", "application/json; charset=utf-8", dict(headers or {}), payload, jsonp)


def html_reply(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode(), "text/html; charset=utf-8", dict(headers or {}))


def redirect(location: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(302, b"", "text/plain", {"Location": location, **(headers or {})})


def file_reply(data: bytes, name: str) -> Reply:
    return Reply(200, data, XLSX_TYPE, {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@dataclass
class Exchange:
    """One request to a demo back-end: `/<platform>/<host>/<path>` of the portal."""

    platform: str
    method: str
    host: str
    path: str
    query: dict[str, str]
    raw: bytes
    headers: Any
    base: str                    # http://<portal>/<platform>
    account: str | None = None   # the session's account (None: no valid session cookie)

    @property
    def cookies(self) -> dict[str, str]:
        jar = cookies.SimpleCookie(self.headers.get("Cookie") or "")
        return {k: m.value for k, m in jar.items()}

    def json(self) -> Any:
        try:
            return json.loads(self.raw or b"null")
        except ValueError:
            raise PortalError(400, f"{self.path}: the body must be JSON") from None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.raw.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def url(self, host: str, path: str) -> str:
        """An absolute link on another host of the same back-end (as the real ones hand out)."""
        return f"{self.base}/{host}/{path.lstrip('/')}"

    def need(self, source: dict, *names: str) -> list[str]:
        missing = [n for n in names if n not in source]
        if missing:
            raise PortalError(400, f"{self.path}: missing parameters {missing}")
        return [source[n] for n in names]
