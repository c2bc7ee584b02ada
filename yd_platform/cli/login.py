"""`yd-platform login`: log a merchant account in by hand when its back-end wants a person
(captcha, QR code, SMS code); the collectors reuse the saved session afterwards."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from yd_platform.collect.platforms import known_collectors

    p = sub.add_parser("login", help="log a merchant account in by hand in a visible browser and save its session")
    p.add_argument("platform", choices=known_collectors(), help="the merchant back-end: " + ", ".join(known_collectors()))
    p.add_argument("account", help="the merchant account (the shop's login account in the catalog/shop table)")
    p.add_argument("--wait", type=float, default=300.0, metavar="SECONDS", help="how long to wait for the login")
    p.set_defaults(func=login_cmd)


def login_cmd(args: argparse.Namespace) -> int:
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.collect.manual_login import manual_login
    from yd_platform.resources.merchant_backends import collector_from_env

    settings = collector_from_env()
    print(f"Log in to {settings.base_url(args.platform)} as {args.platform} account {args.account} "
          f"in the browser window (waiting up to {args.wait:.0f}s) ...", flush=True)
    with open_instance() as instance:  # the instance whose account pools the collections hold
        path = manual_login(args.platform, args.account, settings, args.wait, instance=instance)
    print(f"Saved the session of {args.platform} account {args.account} (owner-only file {path}); "
          "collections reuse it until the back-end expires it.")
    return 0
