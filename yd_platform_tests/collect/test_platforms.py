"""The catalog's collector names (checked before any collector code is imported) agree with
the collector classes: every name has a class, and the names said to need no browser are
exactly the collectors that are not browser flows."""

from __future__ import annotations

from yd_platform.catalog.collectors import BROWSERLESS_COLLECTORS, COLLECTOR_NAMES
from yd_platform.collect.framework import Collector
from yd_platform.collect.platforms import collector_class, known_collectors


def test_catalog_names_and_collector_classes_agree():
    assert known_collectors() == sorted(COLLECTOR_NAMES)
    browserless = {name for name in COLLECTOR_NAMES if not issubclass(collector_class(name), Collector)}
    assert browserless == BROWSERLESS_COLLECTORS
