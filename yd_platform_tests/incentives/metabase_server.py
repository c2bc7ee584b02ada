"""A Metabase server on 127.0.0.1 answering card queries (the robots are `yd_platform_tests.robots`)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server:
    def __init__(self, handler_cls):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class FakeMetabase(_Server):
    """`POST /api/session` and `POST /api/card/<id>/query/json` with an API key or a session."""

    API_KEY = "mb-test-key"

    def __init__(self, cards: dict[int, object]):
        self.cards = cards
        self.sessions: set[str] = set()
        self.calls: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.path == "/api/session":
                    creds = json.loads(raw)
                    if creds == {"username": "ops@example.com", "password": "pw"}:
                        token = f"session-{len(fake.sessions) + 1}"
                        fake.sessions.add(token)
                        return _reply(self, 200, {"id": token})
                    return _reply(self, 401, {"errors": {"password": "did not match"}})
                authorised = (self.headers.get("X-API-KEY") == fake.API_KEY
                              or self.headers.get("X-Metabase-Session") in fake.sessions)
                if not authorised:
                    return _reply(self, 401, "Unauthenticated")
                parts = self.path.strip("/").split("/")
                if parts[:2] != ["api", "card"] or parts[3:] != ["query", "json"]:
                    return _reply(self, 404, "Not found")
                form = dict(urllib.parse.parse_qsl(raw))
                params = json.loads(form.get("parameters", "[]"))
                fake.calls.append({"card": int(parts[2]), "parameters": params})
                card = fake.cards.get(int(parts[2]))
                if card is None:
                    return _reply(self, 404, "Not found")
                values = {p["target"][1][1]: p["value"] for p in params}
                return _reply(self, 202, card(values) if callable(card) else card)

            def log_message(self, *args):
                pass

        super().__init__(Handler)
