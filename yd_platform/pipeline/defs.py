"""Definitions of the pipeline: how the dataset chain is started and followed.

Jobs per dataset (for schedules, the launchpad and `dagster job launch`), the schedules
that replace the task tables, and the automation sensor that lets merged, ods, their
checks and user_tags follow once their upstream partitions are in. The assets themselves
are declared by their stages (collect, merge, tables).
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.pipeline.jobs import build_dataset_jobs
from yd_platform.pipeline.schedules import build_schedules

AUTOMATION_SENSOR = "yd_automation"


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(
        jobs=[job for ds in catalog.datasets() for job in build_dataset_jobs(ds)],
        schedules=build_schedules(catalog),
        sensors=[
            dg.AutomationConditionSensorDefinition(
                AUTOMATION_SENSOR,
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=30,
                description="Runs merged, ods, checks and user_tags once their upstream partitions are in.",
            ),
        ],
    )
