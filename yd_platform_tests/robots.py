"""A fake group robot (WeCom or DingTalk) on 127.0.0.1, shared by every test that sends
messages: it records each post and answers like the real robots."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
SECRET_KEY = "test-secret-key"


@dataclass
class Post:
    path: str
    query: dict[str, str]
    body: dict
    status: int
    errcode: int = 0

    @property
    def delivered(self) -> bool:
        return self.status == 200 and self.errcode == 0

    @property
    def text(self) -> str:
        """The message's content, whatever its msgtype."""
        for part in ("text", "markdown"):
            if part in self.body:
                return self.body[part].get("content", self.body[part].get("text", ""))
        return ""


class FakeRobot:
    """Answers `answer` to every post: 200 (errcode 0), an HTTP status (errcode -1) or a
    `(status, errcode)` pair such as the rate-limit answers `(200, 45009)` and `(200, 130101)`.
    `script` holds answers for the next posts, one each, before `answer` applies again.
    `hold`, when set, is called with each post before it is answered, which waits until it
    returns: a slow or hanging robot, for exactly as long as the test decides."""

    def __init__(self):
        self.posts: list[Post] = []
        self.script: list = []
        self.answer: int | tuple[int, int] = 200
        self.hold: Callable[[Post], object] | None = None
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                parsed = urllib.parse.urlsplit(self.path)
                answer = robot.script.pop(0) if robot.script else robot.answer
                status, errcode = answer if isinstance(answer, tuple) else (answer, 0 if answer == 200 else -1)
                post = Post(parsed.path, dict(urllib.parse.parse_qsl(parsed.query)), body, status, errcode)
                robot.posts.append(post)
                if robot.hold is not None:
                    robot.hold(post)
                payload = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "refused"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (its request timed out while held)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def webhook(self, path: str = WECOM_PATH, query: str = f"key={SECRET_KEY}") -> str:
        """A robot webhook URL on this server, with its secret in the query."""
        return f"{self.url}{path}?{query}" if query else f"{self.url}{path}"

    def delivered(self, path: str | None = None) -> list[Post]:
        """Posts answered errcode 0 (on one path)."""
        return [p for p in self.posts if p.delivered and (path is None or p.path == path)]

    @property
    def messages(self) -> list[dict]:
        """The bodies of the delivered posts."""
        return [p.body for p in self.delivered()]

    @property
    def refused(self) -> int:
        return sum(1 for p in self.posts if not p.delivered)

    def texts(self, path: str | None = None) -> list[str]:
        return [p.text for p in self.delivered(path)]

    def __enter__(self) -> FakeRobot:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
