"""Refuse requests a web page could make the operator's browser send (for every route).

Two attacks reach an API that listens on loopback, with or without a key:

* DNS rebinding: a page on `evil.example` re-points its name at 127.0.0.1 and then calls
  the API as "its own" site; the browser sends `Host: evil.example`. Only the names the
  service is meant to be reached by are served: localhost, 127.0.0.1, [::1], the address
  it is bound to and those listed in YD_API_ALLOWED_HOSTS (any port: the name is what an
  attacker controls, and docker publishes the API on ports of its own). Otherwise 400.
* Cross-site requests: a page on another site (or another port of this machine) sends
  a POST the browser does not preflight, e.g. a body-less POST to trigger a job. A
  request that changes something (any method but GET, HEAD, OPTIONS) is refused with 403
  when the browser says it is cross-site (`Sec-Fetch-Site: cross-site`), or when its
  `Origin` (else its `Referer`) is not this service itself (same host and port as the
  `Host` header; the loopback names count as one) nor a listed host. Callers that are
  not browsers (curl, back-end services) send none of these headers and pass.

Starlette's TrustedHostMiddleware covers only the first half and answers a bare
"Invalid host header"; this one names the header, its value and the setting to change.
It is ASGI middleware on the whole application, so routers added later are covered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi.datastructures import Headers
from fastapi.responses import JSONResponse

from yd_platform.api.settings import ALLOWED_HOSTS_VARIABLE

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """`name[:port]` (IPv6 in brackets) -> (lower-case name without brackets or final dot, port).

    Raises ValueError for anything else (user info, a path, a bad port, an empty name)."""
    if not value or any(c in value for c in "@/\\?# \t") or not value.isascii():
        raise ValueError(f"{value!r} is not a host name with an optional port")
    parts = urlsplit(f"//{value}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} has an invalid port") from exc
    name = (parts.hostname or "").rstrip(".")
    if not name:
        raise ValueError(f"{value!r} has no host name")
    return name, port


@dataclass(frozen=True)
class HostRule:
    """One allowed host: an exact name or `*.domain`, with an optional port."""

    name: str
    port: int | None = None

    @classmethod
    def parse(cls, entry: str) -> HostRule:
        if entry.startswith("*."):
            name, port = split_host(entry[2:])
            return cls(f"*.{name}", port)
        if "*" in entry:
            raise ValueError(f"{entry!r}: a wildcard is only allowed as '*' or '*.domain'")
        return cls(*split_host(entry))

    def matches(self, name: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.name.startswith("*."):
            return name.endswith(self.name[1:])
        return name == self.name


class AllowedHosts:
    """The names this service answers to, from the bound address and YD_API_ALLOWED_HOSTS."""

    def __init__(self, bind_host: str, listed: tuple[str, ...] = ()):
        self.any_host = "*" in listed
        rules = []
        for entry in listed:
            if entry == "*":
                continue
            try:
                rules.append(HostRule.parse(entry.strip().lower()))
            except ValueError as exc:
                raise ValueError(f"{ALLOWED_HOSTS_VARIABLE}: {exc}") from None
        self.listed = tuple(rules)
        bind = bind_host.strip("[]").lower()
        self.own_names = LOOPBACK_NAMES | ({bind} if bind not in ANY_ADDRESS else set())

    def describe(self) -> str:
        names = sorted(self.own_names) + [f"{r.name}:{r.port}" if r.port else r.name for r in self.listed]
        return "any host" if self.any_host else ", ".join(names)

    def host_allowed(self, name: str, port: int | None) -> bool:
        return self.any_host or name in self.own_names or any(r.matches(name, port) for r in self.listed)

    def origin_allowed(self, origin: str, host: tuple[str, int | None]) -> bool:
        """Is `origin` (scheme://host[:port] of a page) this service itself or a listed host?"""
        parts = urlsplit(origin)
        if parts.scheme not in DEFAULT_PORTS:
            return False
        try:
            name, port = split_host(parts.netloc)
        except ValueError:
            return False
        port = port or DEFAULT_PORTS[parts.scheme]
        host_name, host_port = host
        same_name = name == host_name or {name, host_name} <= LOOPBACK_NAMES
        same_port = port == host_port if host_port is not None else port in DEFAULT_PORTS.values()
        return (same_name and same_port) or any(r.matches(name, port) for r in self.listed)


def _refusal(status: int, header: str, problem: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": problem, "message": "请求被拒绝", "detail": problem,
                         "header": header}, status_code=status)


def check_request(method: str, headers: Headers, allowed: AllowedHosts) -> JSONResponse | None:
    """The refusal for a request that is not safe to serve, or None."""
    raw_host = headers.get("host", "")
    try:
        host = split_host(raw_host)
    except ValueError as exc:
        return _refusal(400, "Host", f"Host header: {exc}")
    if not allowed.host_allowed(*host):
        return _refusal(400, "Host", f"Host header {raw_host!r} is not a name this service answers to "
                                     f"({allowed.describe()}); add it to {ALLOWED_HOSTS_VARIABLE} if callers "
                                     "really reach the API by that name")
    if method.upper() in SAFE_METHODS:
        return None
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return _refusal(403, "Sec-Fetch-Site", f"Sec-Fetch-Site: cross-site: a {method} from another web site "
                                               "is refused; call the API from a page it serves, or without a browser")
    for header in ("Origin", "Referer"):
        value = headers.get(header)
        if value is None:
            continue
        if not allowed.origin_allowed(value, host):
            return _refusal(403, header, f"{header} {value!r} is not this service ({raw_host}) nor a host in "
                                         f"{ALLOWED_HOSTS_VARIABLE}: a {method} from another web site is refused")
        return None  # the Origin decides; the Referer counts only when there is no Origin
    return None


class HostOriginGuard:
    """ASGI middleware applying `check_request` to every HTTP request and WebSocket handshake."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts):
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = check_request(scope["method"], Headers(scope=scope), self.allowed)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        elif scope["type"] == "websocket":  # a browser opens these cross-site without asking
            if check_request("WEBSOCKET", Headers(scope=scope), self.allowed) is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)
