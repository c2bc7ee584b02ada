"""Definitions of the housekeeping: the daily deletion of old runs (job and schedule) and
the sensor removing exited run containers, both set in config/housekeeping.yaml."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.housekeeping.config import load_housekeeping_config
from yd_platform.housekeeping.run_containers import run_containers_sensor
from yd_platform.housekeeping.run_retention import JOB_NAME, delete_old_runs_job


def build_defs(catalog: Catalog) -> dg.Definitions:
    cfg = load_housekeeping_config()
    schedule = dg.ScheduleDefinition(
        name=f"{JOB_NAME}_schedule", job=delete_old_runs_job, cron_schedule=cfg.runs.cron,
        execution_timezone=cfg.timezone, default_status=dg.DefaultScheduleStatus.RUNNING)
    return dg.Definitions(jobs=[delete_old_runs_job], schedules=[schedule], sensors=[run_containers_sensor])
