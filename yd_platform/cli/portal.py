"""`yd-platform portal`: serve the demo merchant portal (the embedded default's back-ends).

Collectors use it when YD_PORTAL_URL points at it (with YD_PORTAL_DEMO=1 for the demo
password); `yd-platform up` starts one for its runs by itself.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portal", help="serve the demo merchant portal (pdd, tm, jd, erp back-ends)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--faults", default="{}", metavar="JSON", help=faults_help())
    p.add_argument("--parent-pid", type=int, default=None,
                   help="stop when this process ends (used by `yd-platform up`)")
    p.set_defaults(func=portal_cmd)


def faults_help() -> str:
    """Every error switch of the portal (`Faults`), named with its type, so the help never
    falls behind the switches the portal knows."""
    from dataclasses import fields

    from yd_platform.demo.portal_state import Faults

    switches = ", ".join(f"{f.name} ({f.type})" for f in fields(Faults))
    return (f"error switches as a JSON object, any of: {switches}; bad_reports lists \"<period key>|<shop>\" "
            "reports that arrive as an error page. E.g. '{\"captcha\": true}', "
            "'{\"fail_5xx\": 2, \"slow_seconds\": 1}', '{\"bad_reports\": [\"2025-10-01|pdd_kids\"]}'")


# JSON values each kind of switch accepts (bool is an int in Python: refused apart), and their name
ACCEPTED = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,), "list": (list,)}
KIND_NAMES = {"bool": "true or false", "int": "a whole number", "float": "a number", "str": "a string",
              "list": 'a list of "<period key>|<shop>" strings'}


def parse_faults(text: str):
    """`Faults` from the --faults JSON; a value of the wrong kind is refused naming the
    switch, rather than turned into something else (a string into a list of letters)."""
    from dataclasses import fields

    from yd_platform.demo.portal_state import Faults

    try:
        values = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--faults {text!r}: not JSON ({exc})") from None
    if not isinstance(values, dict):
        raise ValueError(f"--faults {text!r}: expected a JSON object of switches, e.g. '{{\"captcha\": true}}'")
    kinds = {f.name: f.type for f in fields(Faults)}
    for name, value in values.items():
        kind = kinds.get(name)
        if kind is None:
            continue  # Faults.update names the unknown switch and the known ones
        wrong = isinstance(value, bool) and kind != "bool"
        if wrong or not isinstance(value, ACCEPTED[kind]) or (kind == "list" and not all(
                isinstance(item, str) for item in value)):
            raise ValueError(f"--faults: {name} must be {KIND_NAMES[kind]}, not {json.dumps(value)}")
    faults = Faults()
    try:
        faults.update(values)
    except ValueError as exc:
        raise ValueError(f"--faults: {exc}") from None
    return faults


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

    portal = DemoPortal(args.host, args.port, faults=parse_faults(args.faults))
    if args.parent_pid:
        _exit_with_parent(portal, args.parent_pid)
    print(f"demo merchant portal on {portal.url}  (demo login: any account, password {DEMO_PASSWORD})", flush=True)
    try:
        portal.serve_forever()
    finally:
        portal.server.server_close()
    return 0
