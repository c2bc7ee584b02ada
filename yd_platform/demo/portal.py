"""The demo merchant portal: one small web server that imitates the four real back-ends.

Each back-end lives under `/<platform>/<real host>/<real path>`, e.g.
`/tm/sycm.taobao.com/csp/api/user/customize/async-excel` or
`/pdd/mms.pinduoduo.com/saturn/reviews/list`, and answers as the real one does
(`demo.pdd`, `demo.tm`, `demo.jd`, `demo.erp`): same parameters and date formats, same
answer shapes and paging, task lists and progress, report links on file hosts that
need no cookie, its own session cookie (`PASS_ID`, `cookie2`, `thor`, `u_sso_token`)
and its own way of saying the session expired (43001, an HTML login page, 5810,
FAIL_SYS_SESSION_EXPIRED, a login redirect). Collectors reach it with
YD_PORTAL_URL=<portal>; against the real hosts they use YD_PORTAL_URL=live.

The login pages are the back-ends' (login.taobao.com's form for Tmall, a plain form
standing in for the others, whose logins the collectors never automate); with the
`captcha` switch they show a slider and a code image a person at `yd-platform login`
can read and a collector must not try.

Admin endpoints (for tests and rehearsals): `GET /_admin/stats` (logins per account,
API requests received with their parameters, busy intervals, switches),
`POST /_admin/faults` (JSON of `Faults` fields), `POST /_admin/expire` (log everyone
out), `POST /_admin/reset`, `GET /_admin/health`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from yd_platform.catalog import Catalog, load_catalog
from yd_platform.demo.backend import ERROR_PAGE, Backend
from yd_platform.demo.erp import ErpBackend
from yd_platform.demo.http import Exchange, PortalError, Reply, html_reply, json_reply, redirect
from yd_platform.demo.jd import JdBackend
from yd_platform.demo.pdd import PddBackend
from yd_platform.demo.portal_state import ACCOUNT_RE, Faults, PortalState, portal_secret
from yd_platform.demo.tm import TmBackend

BACKENDS: tuple[type[Backend], ...] = (PddBackend, TmBackend, JdBackend, ErpBackend)
PLATFORMS = tuple(b.platform for b in BACKENDS)
RECORDED_HEADERS = ("referer", "origin", "content-type", "anti-content", "etag", "bx-v", "sycm-referer",
                    "x-requested-with", "user-mup", "user-mnp", "p-pin", "gwfp", "accept")


def renamed(payload, name: str):
    """The `rename_field` switch: `name` becomes `<name>_v2` wherever it is a key."""
    if isinstance(payload, dict):
        return {(f"{k}_v2" if k == name else k): renamed(v, name) for k, v in payload.items()}
    if isinstance(payload, list):
        return [renamed(v, name) for v in payload]
    return payload


class _QuietServer(ThreadingHTTPServer):
    """Clients that give up (a collector's timeout) are normal here, not tracebacks."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class DemoPortal:
    """The portal server; `start()` serves it from a background thread and returns its URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, catalog: Catalog | None = None,
                 secret: bytes | None = None, faults: Faults | None = None,
                 demo_password: str | None = None):
        self.catalog = catalog or load_catalog()
        self.state = PortalState(secret=secret or portal_secret(), faults=faults or Faults())
        if demo_password:
            self.state.demo_password = demo_password
        self.backends: dict[str, Backend] = {b.platform: b(self.catalog, self.state) for b in BACKENDS}
        self.server = _QuietServer((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self.server.serve_forever, name="yd-demo-portal", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> DemoPortal:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def requests(self, **match) -> list[dict]:
        """API requests received so far whose fields equal `match` (e.g. platform, path)."""
        return [r for r in self.state.stats()["requests"] if all(r.get(k) == v for k, v in match.items())]

    # -- one request ---------------------------------------------------------------
    def handle(self, ex: Exchange) -> Reply:
        backend = self.backends[ex.platform]
        ex.account = self.state.account_for(ex.platform, ex.cookies.get(backend.session_cookie))
        if (ex.host, ex.path) == (backend.login_host, backend.login_path):
            return self.login(backend, ex)
        if ex.method == "GET" and ex.host == backend.file_host and ex.path == "download":
            return self.recorded(ex, lambda: ("file", backend.download(ex)))
        page = backend.pages().get((ex.host, ex.path))
        if page is not None and ex.method == "GET":
            return page(ex) if ex.account else backend.to_login(ex)
        route = backend.routes().get((ex.method, ex.host, ex.path))
        if route is None:
            raise PortalError(404, f"no such {ex.platform} page or API: {ex.method} {ex.host}/{ex.path}")
        return self.api(backend, route, ex)

    def api(self, backend: Backend, route, ex: Exchange) -> Reply:
        def answer() -> tuple[str, Reply]:
            if not ex.account or self.state.take_expiry():
                return "expired", backend.expired(ex)
            if self.state.faults.slow_seconds:
                time.sleep(self.state.faults.slow_seconds)
            if self.state.take_5xx():
                return "busy", html_reply(ERROR_PAGE, 503)
            return "answered", route(ex)

        return self.recorded(ex, answer)

    def recorded(self, ex: Exchange, answer) -> Reply:
        """Serve `answer() -> (kind, reply)` and record the request with its parameters."""
        started = time.time()
        kind = "failed"
        try:
            kind, reply = answer()
            return reply
        finally:
            self.state.record_request({
                "platform": ex.platform, "host": ex.host, "path": ex.path, "method": ex.method,
                "query": dict(ex.query), "body": _parsed_body(ex), "account": ex.account,
                "headers": {h: ex.headers[h] for h in RECORDED_HEADERS if ex.headers.get(h) is not None},
                "cookies": sorted(ex.cookies), "answer": kind, "start": started, "end": time.time()})

    def login(self, backend: Backend, ex: Exchange) -> Reply:
        state = self.state
        captcha = state.faults.captcha
        if ex.method == "GET":
            return html_reply(backend.login_page(state.new_captcha() if captcha else None))
        form = ex.form()
        user, password = backend.login_fields(form)
        if captcha and not state.pass_captcha(form.get("captcha", "")):
            return html_reply(backend.login_page(state.new_captcha(), "请输入正确的验证码"))
        if not ACCOUNT_RE.match(user) or password != state.demo_password:
            return html_reply(backend.login_page(state.new_captcha() if captcha else None, "账号或密码错误"))
        state.record_login(ex.platform, user)
        token = state.issue_token(ex.platform, user)
        cookies = [f"{backend.session_cookie}={token}; Path=/{ex.platform}; HttpOnly; SameSite=Lax"]
        cookies += [f"{name}={token[-12:]}{i}; Path=/{ex.platform}" for i, name in enumerate(backend.extra_cookies)]
        target = ex.query.get("ReturnUrl") or ex.url(*backend.home)
        return redirect(target, {"Set-Cookie": cookies})


def _parsed_body(ex: Exchange):
    if not ex.raw:
        return None
    try:
        return json.loads(ex.raw)
    except ValueError:
        return ex.form()


def _handler_for(portal: DemoPortal) -> type[BaseHTTPRequestHandler]:
    state = portal.state

    class Handler(BaseHTTPRequestHandler):
        server_version = "YdDemoPortal/2.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def send(self, reply: Reply, rename: bool = True) -> None:
            body = reply.body
            if reply.payload is not None or reply.ctype.startswith("application/json"):
                payload = renamed(reply.payload, state.faults.rename_field) \
                    if rename and state.faults.rename_field else reply.payload
                body = json.dumps(payload, ensure_ascii=False).encode()
                if reply.jsonp:
                    body = f"{reply.jsonp}(".encode() + body + b")"
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                for one in value if isinstance(value, list) else [value]:
                    self.send_header(name, one)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

        def dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = unquote(url.path).lstrip("/").split("/", 2)
            try:
                if parts[0] == "_admin":
                    return self.send(self.admin(method, parts[1] if len(parts) > 1 else "", raw), rename=False)
                if parts[0] not in PLATFORMS or len(parts) < 2:
                    raise PortalError(404, f"no such page {url.path}")
                host = f"http://{self.headers.get('Host') or portal.url.split('//', 1)[1]}"
                ex = Exchange(parts[0], method, parts[1], parts[2] if len(parts) > 2 else "",
                              {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
                              raw, self.headers, f"{host}/{parts[0]}")
                self.send(portal.handle(ex))
            except PortalError as exc:
                self.send(json_reply({"success": False, "error": str(exc)}, exc.status))

        def admin(self, method: str, action: str, raw: bytes) -> Reply:
            if action == "health":
                return json_reply({"ok": True})
            if action == "stats":
                return json_reply(state.stats())
            if method != "POST":
                raise PortalError(405, "admin changes need POST")
            if action == "faults":
                try:
                    state.faults.update(json.loads(raw or b"{}"))
                except (ValueError, TypeError) as exc:
                    raise PortalError(400, str(exc)) from None
                return json_reply(state.stats()["faults"])
            if action == "expire":
                state.expire_sessions()
                return json_reply({"ok": True})
            if action == "reset":
                state.reset()
                return json_reply({"ok": True})
            raise PortalError(404, f"no admin action {action!r}")

    return Handler
