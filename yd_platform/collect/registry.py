"""Names of the collectors a dataset may use.

The catalog validates `collector:` against this list at load time, so it must stay
importable without Playwright; the implementations are looked up lazily by name.
"""

COLLECTORS: dict[str, str] = {
    "pdd": "yd_platform.collect.platforms.pdd:PddCollector",
    "tm": "yd_platform.collect.platforms.tm:TmallCollector",
    "jd": "yd_platform.collect.platforms.jd:JdCollector",
    "erp": "yd_platform.collect.platforms.erp:ErpCollector",
    "warehouse": "yd_platform.collect.platforms.warehouse:WarehouseCollector",
}


def known_collectors() -> list[str]:
    return sorted(COLLECTORS)


def collector_class(name: str):
    """The collector class registered under `name` (imports Playwright-side code lazily)."""
    import importlib

    try:
        module_name, _, attr = COLLECTORS[name].partition(":")
    except KeyError:
        raise KeyError(f"unknown collector {name!r}; known: {', '.join(known_collectors())}") from None
    return getattr(importlib.import_module(module_name), attr)
