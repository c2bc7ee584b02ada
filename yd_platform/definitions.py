"""The yd_platform code location.

Thin on purpose: the catalog decides the assets, each stage package contributes its
own definitions, and the deployment (YD_DEPLOYMENT and its variables) decides the
resources. The resources are built first, so a production deployment with a variable
missing fails to load with one error naming every missing variable.
"""

from __future__ import annotations

import warnings

import dagster as dg

from yd_platform.catalog import Catalog, load_catalog
from yd_platform.deployment_resources import resources_for
from yd_platform.stages import stage_definitions

# Partition mappings and backfill policies are stable in practice; their beta notice
# would otherwise repeat for every dataset on each load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

# A run's steps execute in the run's own process, one after another: the platform's runs
# are chains (a raw batch, merged -> ods, a tags run), so a process per step would add only
# its start-up (seconds under load) to every run, and each pool slot would be held while
# it starts. Pools and retries hold as with the multiprocess executor.
RUN_EXECUTOR = dg.in_process_executor


def build_definitions(catalog: Catalog | None = None, deployment: str | None = None) -> dg.Definitions:
    resources = resources_for(deployment)
    catalog = catalog or load_catalog()
    return dg.Definitions.merge(*stage_definitions(catalog),
                                dg.Definitions(resources=resources, executor=RUN_EXECUTOR))


defs = build_definitions()
