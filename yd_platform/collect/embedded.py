"""The embedded default's back-end for `yd-platform up`: one demo portal process on
127.0.0.1 that every run process shares (it exports YD_PORTAL_URL). Without it, the
first collection in a process starts a portal of its own
(`resources.merchant_backends.embedded_portal_url`).
"""

from __future__ import annotations


def start_portal_process(timeout: float = 30.0):
    """For `yd-platform up`: one demo portal process shared by every run process.

    Does nothing (returns None) when a back-end is configured (YD_PORTAL_URL or a
    per-platform YD_PORTAL_URL_<PLATFORM>). Otherwise starts `yd-platform portal` on a
    free 127.0.0.1 port and exports YD_PORTAL_URL and YD_PORTAL_DEMO=1 to this process
    and its children. The caller terminates the returned process.
    """
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    if any(k.startswith("YD_PORTAL_URL") and v for k, v in os.environ.items()):
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "yd_platform.cli.main", "portal", "--port", str(port),
                             "--parent-pid", str(os.getpid())])
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_admin/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the demo portal did not start on {url}")
        time.sleep(0.2)
    os.environ["YD_PORTAL_URL"] = url
    os.environ["YD_PORTAL_DEMO"] = "1"
    return proc
