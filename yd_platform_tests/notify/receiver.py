"""A local webhook receiver on 127.0.0.1 that records posts and answers like the robots."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Post:
    path: str
    query: dict[str, str]
    body: dict
    status: int
    errcode: int = 0


class Receiver:
    """Answers HTTP 200 `{"errcode": 0}` unless `script` says otherwise: one entry per post,
    an HTTP status (errcode -1 unless 200) or a `(status, errcode)` pair such as the
    robots' rate-limit answer `(200, 45009)`. `delay` seconds pass between taking a post
    and answering it (a slow or hanging robot)."""

    def __init__(self):
        self.posts: list[Post] = []
        self.script: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                parsed = urllib.parse.urlsplit(self.path)
                answer = receiver.script.pop(0) if receiver.script else 200
                status, errcode = answer if isinstance(answer, tuple) else (answer, 0 if answer == 200 else -1)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                receiver.posts.append(Post(parsed.path, query, body, status, errcode))
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "refused"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (its timeout was shorter than `delay`)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def delivered(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path and p.status == 200 and p.errcode == 0]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
