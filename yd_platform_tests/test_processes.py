"""The test helpers for processes: a server started after a run executed in process
still stops on SIGTERM, however the test process itself was started."""

from __future__ import annotations

import signal
import subprocess
import sys

import dagster as dg

from yd_platform_tests.processes import let_children_stop_on_sigterm


@dg.op
def one() -> int:
    return 1


@dg.job
def in_process():
    one()


def test_a_server_started_after_an_in_process_run_stops_on_sigterm():
    # A CI runner starting the tests as a background job leaves SIGINT ignored; Dagster
    # then maps SIGTERM to "ignored" too on every in-process run.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        let_children_stop_on_sigterm()
        assert in_process.execute_in_process().success
        server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        server.terminate()
        try:
            code = server.wait(timeout=120)
        finally:
            server.kill()
        assert code == -signal.SIGTERM
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
