"""Definitions of the merge stage: every dataset's `merged` asset (all shops of a period)."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.merge.merged_asset import build_merged_asset


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(assets=[build_merged_asset(ds) for ds in catalog.datasets()])
