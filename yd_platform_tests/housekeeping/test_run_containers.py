"""The run-container sensor against a Docker Engine API on loopback: a small fake engine
that keeps a container table and prunes it the way the engine documents it (stopped
containers only, every `label` filter must match, `until` compares the creation time)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import dagster as dg
import pytest

from yd_platform.housekeeping.config import load_housekeeping_config
from yd_platform.housekeeping.run_containers import run_containers_sensor

HOUR = 3600
RUN_LABELS = {"dagster/run_id": "r", "dagster/job_name": "j", "yd_platform/container": "run"}


class FakeEngine(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), EngineHandler)
        self.containers: dict[str, dict] = {}
        self.prunes: list[dict] = []

    def add(self, cid: str, state: str, age_hours: float, labels: dict[str, str], size: int = 1_000_000):
        self.containers[cid] = {"State": state, "Created": time.time() - age_hours * HOUR,
                                "Labels": labels, "SizeRw": size}

    def prune(self, filters: dict) -> dict:
        self.prunes.append(filters)
        cutoff = time.time() - int(filters.get("until", ["0h"])[0].removesuffix("h")) * HOUR

        def labelled(labels: dict[str, str]) -> bool:
            for wanted in filters.get("label", []):
                name, has_value, value = wanted.partition("=")
                if name not in labels or (has_value and labels[name] != value):
                    return False
            return True

        gone = [cid for cid, c in self.containers.items()
                if c["State"] != "running" and c["Created"] < cutoff and labelled(c["Labels"])]
        space = sum(self.containers.pop(cid)["SizeRw"] for cid in gone)
        return {"ContainersDeleted": gone, "SpaceReclaimed": space}


class EngineHandler(BaseHTTPRequestHandler):
    server: FakeEngine

    def _reply(self, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        if urlparse(self.path).path.endswith("/version"):
            self._reply({"ApiVersion": "1.45", "MinAPIVersion": "1.24", "Version": "27.0.0"})
        else:
            self.send_error(404)

    def do_POST(self):  # noqa: N802
        url = urlparse(self.path)
        if url.path.endswith("/containers/prune"):
            self._reply(self.server.prune(json.loads(parse_qs(url.query).get("filters", ["{}"])[0])))
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def docker_engine(monkeypatch):
    """The fake Docker engine on loopback, where DOCKER_HOST points."""
    server = FakeEngine()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def docker_instance():
    """An instance whose runs start containers, labelled as docker/dagster.yaml labels them."""
    return dg.instance_for_test(overrides={"run_launcher": {
        "module": "dagster_docker", "class": "DockerRunLauncher",
        "config": {"network": "yd_platform", "container_kwargs": {"labels": {"yd_platform/container": "run"}}}}})


def test_exited_run_containers_past_the_window_are_removed(docker_engine):
    keep = load_housekeeping_config().run_containers.keep_hours
    docker_engine.add("old-exited", "exited", keep + 5, RUN_LABELS)
    docker_engine.add("old-dead", "dead", keep + 1, RUN_LABELS)
    docker_engine.add("recent-exited", "exited", keep - 1, RUN_LABELS)  # `docker logs` still there
    docker_engine.add("old-running", "running", keep + 5, RUN_LABELS)
    docker_engine.add("other-deployment", "exited", keep + 5, {"dagster/run_id": "x"})
    docker_engine.add("not-a-run", "exited", keep + 5, {"com.example": "db"})
    with docker_instance() as instance:
        result = run_containers_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message.startswith(f"removed 2 exited run containers created over {keep} h ago")
    assert set(docker_engine.containers) == {"recent-exited", "old-running", "other-deployment", "not-a-run"}
    assert docker_engine.prunes == [{"label": ["dagster/run_id", "yd_platform/container=run"], "until": [f"{keep}h"]}]


def test_instance_without_run_containers_is_left_alone(docker_engine):
    docker_engine.add("old-exited", "exited", 500, RUN_LABELS)
    with dg.instance_for_test() as instance:
        result = run_containers_sensor(dg.build_sensor_context(instance=instance))
    assert "runs do not start containers on this instance" in result.skip_message
    assert docker_engine.prunes == [] and "old-exited" in docker_engine.containers
