"""Names of the collectors a dataset may name in `platforms.yaml` (`collector:`).

The catalog validates against this list at load time, before any collector code (and
Playwright) is imported; `yd_platform.collect.platforms` maps each name to its class and
a test keeps the two in step.
"""

COLLECTOR_NAMES: tuple[str, ...] = ("erp", "jd", "pdd", "tm", "warehouse")

# The collectors that read without a browser (the others log into a back-end through
# Chromium): a run of their datasets does not start one.
BROWSERLESS_COLLECTORS: frozenset[str] = frozenset({"warehouse"})
