"""What a newcomer sees on a fresh install is what the commands mean to say: no Dagster
DEBUG event log on the console, and never Dagster's warning about a DAGSTER_HOME without
its instance file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from yd_platform.cli.main import main
from yd_platform_tests.processes import REPO, free_port, wait_until

NO_INSTANCE_FILE = "No dagster instance configuration file"
# Production switches (and a DAGSTER_HOME) of the developer's shell must not leak into a fresh install.
CLEARED = ("YD_DEPLOYMENT", "YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_PORTAL_URL", "YD_SPARK_MASTER", "YD_WAREHOUSE_URL", "YD_UI_URL", "DAGSTER_HOME")


def fresh_env(yd_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return {**env, "YD_HOME": str(yd_home), "SPARK_LOCAL_IP": "127.0.0.1", **extra}


def yd_platform(*args: str) -> list[str]:
    return [sys.executable, "-m", "yd_platform.cli.main", *args]


def assert_no_debug_nor_instance_warning(console: str) -> None:
    assert NO_INSTANCE_FILE not in console
    assert not [line for line in console.splitlines() if re.search(r"\bDEBUG\b", line)], console[-3000:]


def test_status_on_an_empty_dagster_home_writes_the_instance_file_first(yd_home, tmp_path):
    """DAGSTER_HOME names a new, empty folder: status writes the embedded instance file
    before it opens the instance, so Dagster has nothing to warn about."""
    home = tmp_path / "new_dagster_home"
    home.mkdir()
    done = subprocess.run(yd_platform("status", "--dataset", "pdd/badscore", "--date", "2025-10-02", "--days", "1"),
                          env=fresh_env(yd_home, DAGSTER_HOME=str(home)), capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert NO_INSTANCE_FILE not in done.stderr + done.stdout
    assert done.stderr == ""
    assert (home / "dagster.yaml").is_file()
    assert "nothing failing" in done.stdout


def test_production_refuses_a_dagster_home_without_its_instance_file(yd_home, tmp_path, monkeypatch, capsys):
    home = tmp_path / "prod_dagster_home"
    home.mkdir()
    monkeypatch.setenv("YD_DEPLOYMENT", "production")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["prepare-instance"]) == 1
    err = capsys.readouterr().err
    assert f"DAGSTER_HOME={home} has no dagster.yaml: copy docker/dagster.yaml there" in err
    assert list(home.iterdir()) == []  # no embedded file written into a production folder


@pytest.mark.slow
def test_up_on_a_fresh_install_says_what_it_started(tmp_path):
    yd_home = tmp_path / "yd_home"
    port, api_port = free_port(), free_port()
    console_out, console_err = tmp_path / "up.out", tmp_path / "up.err"
    env = fresh_env(yd_home, PYTHONUNBUFFERED="1")
    with console_out.open("wb") as out, console_err.open("wb") as err:
        proc = subprocess.Popen(yd_platform("up", "--skip-run", "--port", str(port), "--api-port", str(api_port)),
                                env=env, cwd=REPO, stdout=out, stderr=err)
    try:
        wait_until(lambda: "Running. Ctrl-C stops everything" in console_out.read_text(), "`up` to be running",
                   proc=proc, details=lambda: console_out.read_text() + console_err.read_text())
        log = yd_home / "logs" / "dagster.log"
        # the daemon ticks (what used to fill the console) land in the log file
        wait_until(lambda: "dagster.daemon" in log.read_text(errors="replace"), "the daemon's lines in its log",
                   proc=proc, details=lambda: log.read_text(errors="replace")[-3000:])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    console = console_out.read_text() + console_err.read_text()
    assert proc.returncode == 0, console
    assert_no_debug_nor_instance_warning(console)
    assert "dagster.daemon" not in console and "Uvicorn running" not in console
    stdout = console_out.read_text()
    for said in ("demo merchant portal on http://127.0.0.1:", f"Dagster UI on http://127.0.0.1:{port}",
                 f"HTTP API on http://127.0.0.1:{api_port}", f"their log: {yd_home / 'logs' / 'dagster.log'}",
                 f"log: {yd_home / 'logs' / 'api.log'}", "tag seed v1:", "Stopping ..."):
        assert said in stdout, stdout
    assert console_err.read_text() == ""
    dagster_log = (yd_home / "logs" / "dagster.log").read_text()
    assert "Serving dagster-webserver" in dagster_log
    assert NO_INSTANCE_FILE not in dagster_log  # the webserver, daemon and code server found the instance file
    assert "Uvicorn running" in (yd_home / "logs" / "api.log").read_text()
    assert (yd_home / "dagster_home" / "dagster.yaml").is_file()


@pytest.mark.slow
def test_run_on_a_fresh_install_shows_progress_not_dagster_debug(tmp_path):
    yd_home = tmp_path / "yd_home"
    done = subprocess.run(yd_platform("run", "--date", "2025-10-02", "--datasets", "erp/goodscount"),
                          env=fresh_env(yd_home), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_debug_nor_instance_warning(done.stdout + done.stderr)
    assert done.stdout.splitlines() == [
        f"Running 1 chain(s) of 2025-10-02 in this process (DAGSTER_HOME={yd_home / 'dagster_home'})",
        "ok     erp/goodscount 2025-10-01 shops=1"]
    progress = done.stderr.splitlines()
    chain = "[1/1] erp/goodscount 2025-10-01"
    assert progress[0] == f"{chain}: collect ..."
    assert re.fullmatch(rf"{re.escape(chain)}: collect: 1/1  erp_main ok, \d+ rows", progress[1]), progress
    assert progress[2] == f"{chain}: merge and publish ..."
    assert re.fullmatch(rf"{re.escape(chain)}: merge and publish: 1/1  ok, \d+ rows published", progress[3]), progress
    assert len(progress) == 4  # nothing else: no event log, no warning
