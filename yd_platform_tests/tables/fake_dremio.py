"""A small stand-in for Dremio's REST API on 127.0.0.1 (login, SQL jobs, job status,
catalog lookup by path, sources, spaces, folders and views, reflections and their refresh).

Views follow Dremio's rules as far as the platform meets them: `CREATE OR REPLACE VIEW`
needs its space and folders to exist, cannot take the path of a table, and fails when
its FROM names a table Dremio does not know; a space cannot take a source's name."""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class FakeDremio:
    user: str = "etl"
    password: str = "s3cret"
    known_tables: set[str] = field(default_factory=set)
    polls_until_done: int = 2
    never_finishes: bool = False
    jobs: dict[str, dict] = field(default_factory=dict)
    sql_seen: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    personal_tokens: set[str] = field(default_factory=set)
    reflections: list[dict] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)  # dataset ids whose reflections were refreshed
    calls: list[str] = field(default_factory=list)      # "METHOD path" in order

    @staticmethod
    def dataset_id(quoted: str) -> str:
        return "ds-" + uuid.uuid5(uuid.NAMESPACE_URL, quoted).hex[:12]

    fresh: bool = False                                 # no user yet: the first one may be created
    sources: dict[str, dict] = field(default_factory=dict)
    spaces: set[str] = field(default_factory=set)
    folders: set[tuple[str, ...]] = field(default_factory=set)
    views: dict[str, str] = field(default_factory=dict)  # quoted path -> its SELECT
    view_sql: list[str] = field(default_factory=list)   # every CREATE OR REPLACE VIEW, in order

    def container(self, path: tuple[str, ...]) -> str | None:
        if len(path) == 1:
            return "source" if path[0] in self.sources else "space" if path[0] in self.spaces else None
        return "folder" if path in self.folders else None

    def create_view(self, sql: str) -> str | None:
        """Run a CREATE OR REPLACE VIEW; the error Dremio would give, or None."""
        match = re.fullmatch(r'CREATE OR REPLACE VIEW ((?:"(?:[^"]|"")*"\.?)+) AS (SELECT .* FROM (.+))', sql, re.S)
        if not match:
            return f"PARSE ERROR: {sql[:80]}"
        quoted, select, source = match.groups()
        parts = tuple(p.replace('""', '"') for p in re.findall(r'"((?:[^"]|"")*)"', quoted))
        if self.container(parts[:-1]) not in ("space", "folder"):
            return f"Cannot create view: {'.'.join(parts[:-1])} is no space or folder"
        if quoted in self.known_tables:
            return f"A non-view table with given name [{'.'.join(parts)}] already exists"
        if source.strip() not in self.known_tables:
            return f"Object '{source.strip()}' not found"
        self.views[quoted] = select
        self.view_sql.append(sql)
        return None

    def handle(self, method: str, path: str, headers, body: dict) -> tuple[int, dict]:
        if method == "GET" and path == "/apiv2/server_status":
            return 200, {"status": "OK"}
        if method == "PUT" and path == "/apiv2/bootstrap/firstuser":
            if not self.fresh:
                return 400, {"errorMessage": "First user can only be created when no user is already registered"}
            self.fresh, self.user, self.password = False, body["userName"], body["password"]
            return 200, {"userName": self.user}
        if method == "POST" and path == "/apiv2/login":
            if not self.fresh and body.get("userName") == self.user and body.get("password") == self.password:
                token = uuid.uuid4().hex
                self.tokens.add(token)
                return 200, {"token": token, "userName": self.user}
            return 401, {"errorMessage": "Invalid username or password"}
        auth = headers.get("Authorization", "")
        session_ok = auth.startswith("_dremio") and auth[len("_dremio"):] in self.tokens
        pat_ok = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.personal_tokens
        if not (session_ok or pat_ok):
            return 401, {"errorMessage": "Unauthorized"}
        self.calls.append(f"{method} {path.split('?')[0]}")
        if method == "POST" and path == "/api/v3/catalog":
            kind = body.get("entityType")
            target = (body["name"],) if kind in ("source", "space") else tuple(body.get("path", ()))
            if self.container(target):
                return 409, {"errorMessage": f"The entity with path [{list(target)}] already exists"}
            if kind == "source":
                self.sources[body["name"]] = body
            elif kind == "space":
                self.spaces.add(body["name"])
            elif kind == "folder" and self.container(target[:-1]) in ("space", "folder"):
                self.folders.add(target)
            else:
                return 400, {"errorMessage": f"cannot create {kind} at {list(target)}"}
            return 200, {**body, "id": uuid.uuid4().hex}
        if method == "GET" and path.startswith("/api/v3/catalog/by-path/"):
            parts = [unquote(p) for p in path[len("/api/v3/catalog/by-path/"):].split("/")]
            kind = self.container(tuple(parts))
            if kind:
                return 200, {"entityType": kind, "id": f"{kind}-{'.'.join(parts)}", "path": parts}
            quoted = ".".join('"' + p.replace('"', '""') + '"' for p in parts)
            if quoted in self.views:
                return 200, {"entityType": "dataset", "type": "VIRTUAL_DATASET", "id": self.dataset_id(quoted),
                             "path": parts, "sql": self.views[quoted]}
            if quoted not in self.known_tables:
                return 404, {"errorMessage": f"Could not find entity with path [{parts}]"}
            return 200, {"entityType": "dataset", "type": "PHYSICAL_DATASET", "id": self.dataset_id(quoted),
                         "path": parts, "fields": [{"name": "shop_id"}, {"name": "order_id"}, {"name": "dt"}]}
        if method == "GET" and path == "/api/v3/reflection":
            return 200, {"data": self.reflections}
        if method == "POST" and path == "/api/v3/reflection":
            reflection = {**body, "id": uuid.uuid4().hex}
            self.reflections.append(reflection)
            return 200, reflection
        if method == "POST" and path.startswith("/api/v3/catalog/") and path.endswith("/refresh"):
            self.refreshed.append(path.split("/")[4])
            return 204, {}
        if method == "POST" and path == "/api/v3/sql":
            job_id = uuid.uuid4().hex
            sql = body["sql"]
            self.sql_seen.append(sql)
            if sql.startswith("CREATE OR REPLACE VIEW "):
                self.jobs[job_id] = {"polls": 0, "error": self.create_view(sql)}
            else:
                table = sql.split("ALTER TABLE ", 1)[-1].split(" REFRESH", 1)[0]
                error = None if table in self.known_tables else f"Table [{table}] not found"
                self.jobs[job_id] = {"polls": 0, "table": table, "error": error}
            return 200, {"id": job_id}
        if method == "GET" and path.startswith("/api/v3/job/"):
            job = self.jobs.get(path.rsplit("/", 1)[-1])
            if job is None:
                return 404, {"errorMessage": "job not found"}
            job["polls"] += 1
            if self.never_finishes or job["polls"] < self.polls_until_done:
                return 200, {"jobState": "RUNNING"}
            if job["error"]:
                return 200, {"jobState": "FAILED", "errorMessage": job["error"]}
            return 200, {"jobState": "COMPLETED", "rowCount": 1}
        return 404, {"errorMessage": f"no route {method} {path}"}


def serve(fake: FakeDremio):
    """Start the fake on a free loopback port; returns (base_url, server)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            status, payload = fake.handle(method, self.path, self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._answer("GET")

        def do_POST(self):  # noqa: N802
            self._answer("POST")

        def do_PUT(self):  # noqa: N802
            self._answer("PUT")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server
