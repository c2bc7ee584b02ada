"""The stage packages that make up the code location, in the order data flows.

Each exposes `build_defs(catalog) -> dg.Definitions` with its own assets, checks,
sensors, jobs and the resources only it uses; none imports another stage.
"""

from __future__ import annotations

import importlib

import dagster as dg

from yd_platform.catalog import Catalog

STAGE_MODULES = [
    "yd_platform.collect.defs",
    "yd_platform.merge.defs",
    "yd_platform.checks.defs",
    "yd_platform.tables.defs",
    "yd_platform.notify.defs",
    "yd_platform.tags.defs",
    "yd_platform.incentives.defs",
    "yd_platform.pms.defs",
    "yd_platform.pipeline.defs",
    "yd_platform.housekeeping.defs",
    "yd_platform.cutover.defs",
]


def stage_definitions(catalog: Catalog) -> list[dg.Definitions]:
    return [importlib.import_module(name).build_defs(catalog) for name in STAGE_MODULES]
