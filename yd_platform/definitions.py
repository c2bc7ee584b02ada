"""The yd_platform code location.

Thin on purpose: the catalog decides the assets, each stage package contributes its
own definitions, and the environment decides the resources.
"""

from __future__ import annotations

import warnings

import dagster as dg

from yd_platform.catalog import Catalog, load_catalog
from yd_platform.pipeline.defs import build_pipeline_defs
from yd_platform.resources.core import core_resources
from yd_platform.stages import stage_definitions

# Partition mappings and backfill policies are stable in practice; their beta notice
# would otherwise repeat for every dataset on each load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(catalog: Catalog | None = None) -> dg.Definitions:
    catalog = catalog or load_catalog()
    return dg.Definitions.merge(
        build_pipeline_defs(catalog),
        *stage_definitions(catalog),
        dg.Definitions(resources=core_resources()),
    )


defs = build_definitions()
