"""One small collector per back-end; the shared flow is in `collect.framework`.

Collector classes are looked up by the name a dataset gives in `platforms.yaml`
(`catalog.collectors.COLLECTOR_NAMES`), importing the Playwright-side module only then.
"""

from __future__ import annotations

import importlib

COLLECTOR_CLASSES: dict[str, str] = {
    "pdd": "yd_platform.collect.platforms.pdd:PddCollector",
    "tm": "yd_platform.collect.platforms.tm:TmallCollector",
    "jd": "yd_platform.collect.platforms.jd:JdCollector",
    "erp": "yd_platform.collect.platforms.erp:ErpCollector",
    "warehouse": "yd_platform.collect.platforms.warehouse:WarehouseCollector",
}


def known_collectors() -> list[str]:
    return sorted(COLLECTOR_CLASSES)


def collector_class(name: str):
    """The collector class registered under `name`."""
    try:
        module_name, _, attr = COLLECTOR_CLASSES[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown collector {name!r}; known: {', '.join(known_collectors())}") from None
    return getattr(importlib.import_module(module_name), attr)
