"""Definitions of the tables stage: every dataset's `ods` asset (the published table)."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.tables.ods_asset import build_ods_asset


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[build_ods_asset(ds) for ds in catalog.datasets()])
