"""`yd-platform up` as a test fixture: the real command in a subprocess on a scratch
YD_HOME, and small readers of what its instance records (GraphQL and the run storage)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from yd_platform_tests.processes import REPO, free_port, wait_until

# Production switches that must not leak into the embedded default under test.
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_PORTAL_URL", "YD_SPARK_MASTER", "DAGSTER_HOME")


def dismiss_dialogs(page) -> None:
    """Close what Dagster shows a new browser over the page (the community sign-up dialog),
    so a screenshot shows the page itself; each one is waited for until it is gone."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):
        dialog = page.locator(".bp5-dialog, [role=dialog]").first
        if not dialog.count() or not dialog.is_visible():
            return
        buttons = dialog.get_by_role("button", name=re.compile(r"skip|not now|no thanks|dismiss|close|cancel", re.I))
        if buttons.count():
            buttons.first.click()
        else:
            page.keyboard.press("Escape")
        try:
            dialog.wait_for(state="hidden", timeout=30_000)
        except PlaywrightTimeout:
            continue  # another dialog took its place, or it needs a second try


def wait_until_drawn(page, *texts: str) -> None:
    """Wait until each of `texts` is on the page and the page has stopped loading (no
    request for half a second): what a screenshot should show."""
    for text in texts:
        page.get_by_text(text).first.wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)


@dataclass
class UpProcess:
    proc: subprocess.Popen
    url: str
    home: Path
    env: dict[str, str]
    log_path: Path

    def output(self, chars: int = 6000) -> str:
        """The last `chars` characters `yd-platform up` printed."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def instance(self) -> dg.DagsterInstance:
        from dagster._core.instance.ref import InstanceRef

        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(self.env["DAGSTER_HOME"]))

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.load(resp)
        if answer.get("errors"):
            raise AssertionError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]


def start_up(home: Path, *args: str, timeout: float = 480) -> UpProcess:
    """Start `yd-platform up` and wait until it says the UI is being served."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(YD_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"), SPARK_LOCAL_IP="127.0.0.1",
               YD_UI_URL=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1")
    log_path = home / "up.log"
    api_port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "yd_platform.cli.main", "up", "--port", str(port),
                             "--api-port", str(api_port), *args],
                            cwd=REPO, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    up = UpProcess(proc, f"http://127.0.0.1:{port}", home, env, log_path)
    wait_until(lambda: "Dagster UI on" in up.output(200_000) or proc.poll() is not None,
               "`yd-platform up` to serve the UI", timeout, interval=2, details=up.output)
    if proc.poll() is not None:
        raise AssertionError(f"yd-platform up exited with {proc.returncode}:\n{up.output()}")
    return up

