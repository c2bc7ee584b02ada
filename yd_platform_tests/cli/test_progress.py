"""Long work shows its phases and counts as it goes: bars on a terminal, plain lines in a
pipe or a CI log; stdout keeps only the command's result.

"As it goes" is shown on events, not on timing: a line must be out while the work it
reports on is provably unfinished (the instance holds only the runs before it; the
command is held on a database lock the test owns).
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.cli.terminal import Progress
from yd_platform_tests.databases import scratch_database
from yd_platform_tests.processes import wait_until

TABLES = ("user_basic_info", "user_asset_summary", "user_activity_summary")


def _demo_data_command(users: int) -> list[str]:
    return [sys.executable, "-m", "yd_platform.cli.main", "tags", "demo-data", "--users", str(users),
            "--seed", "5", "--today", "2025-10-02"]


def _env(yd_home) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("YD_WAREHOUSE_URL", "YD_DEPLOYMENT")}
    return {**env, "YD_HOME": str(yd_home), "COLUMNS": "120", "TERM": "xterm-256color"}


def test_plain_lines_name_each_phase_and_count():
    out = io.StringIO()
    with Progress(stream=out, live=False) as progress:
        for done in range(1, 21):
            progress("writing t", done, 20)
        progress("scanning", 0, None)
        progress("scanning", 7, None, "periods with objects")
        progress.phase("publish", 1)
        progress.update(1, "ok, 49 rows")
    assert out.getvalue().splitlines() == [
        "writing t ...", "writing t: 2/20", "writing t: 4/20", "writing t: 6/20", "writing t: 8/20",
        "writing t: 10/20", "writing t: 12/20", "writing t: 14/20", "writing t: 16/20", "writing t: 18/20",
        "writing t: 20/20",
        "scanning ...", "scanning: 7  periods with objects",
        "publish ...", "publish: 1/1  ok, 49 rows",
    ]


def test_demo_data_in_a_pipe_prints_plain_progress_lines(yd_home):
    done = subprocess.run(_demo_data_command(2500), env=_env(yd_home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    err = done.stderr.splitlines()
    for table in TABLES:
        rows = 2500 if table != "user_asset_summary" else 2375
        steps = [line for line in err if line.startswith(f"writing {table}: ")]
        assert steps[0] == f"writing {table}: 1000/{rows}" and steps[-1] == f"writing {table}: {rows}/{rows}"
    assert err.index("writing user_basic_info ...") < err.index("writing user_asset_summary ...")
    assert "\x1b[" not in done.stderr and "\r" not in done.stderr  # no terminal control in a log
    assert "user_basic_info: 2500 rows" in done.stdout and "writing" not in done.stdout


def _run_in_terminal(command: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    """Run `command` with a pseudo-terminal as its stdin, stdout and stderr; (exit status, what it showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process is gone
                    break
                if not data:
                    break
                shown += data
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), shown.decode("utf-8", errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)


def test_demo_data_on_a_terminal_draws_bars(yd_home):
    code, shown = _run_in_terminal(_demo_data_command(2500), _env(yd_home))
    assert code == 0, shown
    assert "━" in shown and "\x1b[" in shown  # rich's bars, redrawn in place
    for table, rows in zip(TABLES, (2500, 2375, 2500)):
        assert f"writing {table}" in shown and f"{rows}/{rows}" in shown
    assert "user_basic_info: 2500 rows" in shown  # the result still follows


def _lines_of(stream, into: list[str]) -> threading.Thread:
    """A thread appending each line of `stream` to `into` as it arrives."""
    def read() -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    thread = threading.Thread(target=read, name="read-lines", daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_demo_data_progress_is_out_before_the_work_is_done(yd_home):
    """The warehouse is MariaDB. The test holds a row lock demo-data needs once the first
    table is written, so the command cannot go further: that table's progress lines must
    already be out, and nothing of the result."""
    first = [f"writing user_basic_info{step}" for step in (" ...", ": 1000/2500", ": 2000/2500", ": 2500/2500")]
    with scratch_database() as url:
        env = {**_env(yd_home), "YD_WAREHOUSE_URL": url}
        assert subprocess.run(_demo_data_command(2500), env=env, capture_output=True, timeout=300).returncode == 0
        engine = sa.create_engine(url)
        try:
            with engine.connect() as holder, engine.connect() as watcher:
                held = holder.begin()
                holder.execute(sa.text("SELECT * FROM demo_data_info WHERE table_name = 'user_basic_info' FOR UPDATE"))
                proc = subprocess.Popen(_demo_data_command(2500), env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                err, out = [], []
                readers = [_lines_of(proc.stderr, err), _lines_of(proc.stdout, out)]
                try:
                    wait_until(lambda: watcher.execute(sa.text(
                        "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DELETE FROM demo_data_info%'"
                    )).first(), "demo-data waiting on the held row", proc=proc, details=lambda: "\n".join(err))
                    wait_until(lambda: first[-1] in err, "the first table's last progress line", proc=proc,
                               details=lambda: "\n".join(err))
                    assert proc.poll() is None
                    assert err == first and out == []  # held on the lock: only the first table's lines are out
                finally:
                    held.rollback()
                assert proc.wait(timeout=300) == 0, "\n".join(err)
                for reader in readers:
                    reader.join(timeout=30)
        finally:
            engine.dispose()
    assert err[:len(first)] == first and err[-1] == "writing user_activity_summary: 2500/2500"
    assert out[0] == "user_basic_info: 2500 rows"


class _InstanceAtEachLine(io.StringIO):
    """stderr that notes, as each line is written, the runs the instance holds at that moment."""

    def __init__(self, home):
        super().__init__()
        self.home, self.seen = home, []

    def write(self, text: str) -> int:
        if text.strip():
            with dg.DagsterInstance.from_config(str(self.home)) as instance:
                runs = [(run.job_name, run.status.value) for run in reversed(instance.get_runs())]
            self.seen.append((text, runs))
        return super().write(text)


@pytest.mark.slow
def test_run_shows_each_step_as_its_run_ends(yd_home, monkeypatch, capsys):
    from yd_platform.cli.up import run_day

    home = yd_home / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # run_day sets it; restored after the test
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    for name in ("YD_PORTAL_URL", "YD_WAREHOUSE_URL", "YD_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    stderr = _InstanceAtEachLine(home)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert run_day(date(2025, 10, 2), datasets=["erp/goodscount"])
    collect, publish = "erp__goodscount__collect", "erp__goodscount__publish"
    chain = "[1/1] erp/goodscount 2025-10-01"
    lines = [(text, runs) for text, runs in stderr.seen]
    assert [text for text, _ in lines[::2]] == [f"{chain}: collect ...", f"{chain}: merge and publish ..."]
    assert lines[0][1] == []  # the chain starts: nothing has run
    assert re.fullmatch(rf"{re.escape(chain)}: collect: 1/1  erp_main ok, \d+ rows", lines[1][0])
    assert lines[1][1] == [(collect, "SUCCESS")]  # said as the collect run ended, before the publish run
    assert lines[2][1] == [(collect, "SUCCESS")]
    assert re.fullmatch(rf"{re.escape(chain)}: merge and publish: 1/1  ok, \d+ rows published", lines[3][0])
    assert lines[3][1] == [(collect, "SUCCESS"), (publish, "SUCCESS")]
    assert len(lines) == 4
    assert capsys.readouterr().out.splitlines()[-1] == "ok     erp/goodscount 2025-10-01 shops=1"
