"""Definitions of the notify stage."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions()
