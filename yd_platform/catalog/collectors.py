"""Names of the collectors a dataset may name in `platforms.yaml` (`collector:`).

The catalog validates against this list at load time, before any collector code (and
Playwright) is imported; `yd_platform.collect.platforms` maps each name to its class and
a test keeps the two in step.
"""

COLLECTOR_NAMES: tuple[str, ...] = ("erp", "jd", "pdd", "tm", "warehouse")
