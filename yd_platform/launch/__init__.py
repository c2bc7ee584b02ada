"""Launching runs and the limits they run under.

- `launch.client`: start and follow runs on a webserver through its GraphQL API.
- `launch.pools`: the per-platform and per-account pools every collect run waits for.

The client's names are importable from here; they load on first use, so importing
`launch.pools` (as every collect step does) does not pull in the GraphQL client.
"""

from __future__ import annotations

import importlib

__all__ = ["LaunchError", "RunLauncher", "RunOutcome", "RunTimeout", "partition_tags"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("yd_platform.launch.client"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
