"""Definitions of the cutover: the sensor keeping the old task tables written for the
tools that still read them (the adoption of old history is the `yd-platform adopt`
command, run once, not a definition)."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.cutover.task_tables import build_task_tables_sensor


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(sensors=[build_task_tables_sensor(catalog)])
