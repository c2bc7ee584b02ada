"""`yd-platform dashboard`: serve the incentives dashboard (Streamlit).

It reads what the incentive assets wrote, from the object store and app database named by
the environment (the embedded default without any), so it needs no Dagster process.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the incentives dashboard (Streamlit)")
    p.add_argument("--host", default=os.environ.get("YD_DASHBOARD_HOST", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=int(os.environ.get("YD_DASHBOARD_PORT", "8501")),
                   help="port to listen on (default 8501, or YD_DASHBOARD_PORT)")
    p.set_defaults(func=dashboard_cmd)


def streamlit_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "viewer"]


def dashboard_cmd(args: argparse.Namespace) -> int:
    print(f"incentives dashboard on http://{args.host}:{args.port}", flush=True)
    # exec: the dashboard becomes this process, so signals and exit status are its own
    command = streamlit_command(args.host, args.port)
    os.execv(command[0], command)
