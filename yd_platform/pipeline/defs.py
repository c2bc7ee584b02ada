"""Everything generated from the catalog for the dataset chain."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.pipeline.assets import build_catalog_assets
from yd_platform.pipeline.jobs import build_dataset_jobs
from yd_platform.pipeline.schedules import build_schedules
from yd_platform.pipeline.shops_sensor import build_shops_sensors

AUTOMATION_SENSOR = "yd_automation"


def build_pipeline_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        assets=build_catalog_assets(catalog),
        jobs=[job for ds in catalog.datasets() for job in build_dataset_jobs(ds)],
        schedules=build_schedules(catalog),
        sensors=[
            *build_shops_sensors(catalog),
            dg.AutomationConditionSensorDefinition(
                AUTOMATION_SENSOR,
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=30,
                description="Runs merged, ods, checks and user_tags once their upstream partitions are in.",
            ),
        ],
    )
