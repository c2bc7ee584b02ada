"""`yd-platform portal`: serve the demo merchant portal (the embedded default's back-ends).

Collectors use it when YD_PORTAL_URL points at it (with YD_PORTAL_DEMO=1 for the demo
password); `yd-platform up` starts one for its runs by itself.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portal", help="serve the demo merchant portal (pdd, tm, jd, erp back-ends)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--faults", default="{}", metavar="JSON",
                   help='error switches (captcha, fail_5xx, slow_seconds, truncate, html_error, '
                        'generation_seconds, session_seconds), e.g. \'{"captcha": true}\' or '
                        '\'{"fail_5xx": 2, "slow_seconds": 1}\'')
    p.add_argument("--parent-pid", type=int, default=None,
                   help="stop when this process ends (used by `yd-platform up`)")
    p.set_defaults(func=portal_cmd)


def _exit_with_parent(portal, parent_pid: int) -> None:
    """Shut the portal down once the parent is gone (even if it was killed)."""
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        portal.server.shutdown()

    threading.Thread(target=watch, name="yd-portal-parent-watch", daemon=True).start()


def portal_cmd(args: argparse.Namespace) -> int:
    from yd_platform.demo.portal import DemoPortal
    from yd_platform.demo.portal_state import DEMO_PASSWORD

    portal = DemoPortal(args.host, args.port)
    try:
        portal.state.faults.update(json.loads(args.faults))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--faults: {exc}") from None
    if args.parent_pid:
        _exit_with_parent(portal, args.parent_pid)
    print(f"demo merchant portal on {portal.url}  (demo login: any account, password {DEMO_PASSWORD})", flush=True)
    try:
        portal.serve_forever()
    finally:
        portal.server.server_close()
    return 0
