"""Tick history on an instance configured like docker/dagster.yaml (and the embedded
dagster.yaml): a real sensor daemon iteration purges the old ticks and keeps recent ones."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.scheduler.instigation import TickData, TickStatus
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._utils.error import SerializableErrorInfo

from yd_platform.housekeeping.defs import build_defs
from yd_platform.housekeeping.run_containers import SENSOR_NAME

REPO = Path(__file__).resolve().parents[2]
DAY = 86400
defs = build_defs(None)  # the code location the daemon loads in-process


def retention(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["retention"]


def test_both_instances_keep_the_same_tick_history():
    production, embedded = retention(REPO / "docker" / "dagster.yaml"), retention(REPO / "dagster.yaml")
    assert production == embedded
    assert production["sensor"]["purge_after_days"]["skipped"] == 7
    assert production["schedule"]["purge_after_days"] == 90


@pytest.mark.parametrize("config", ["docker/dagster.yaml", "dagster.yaml"])
def test_sensor_daemon_purges_old_ticks(config):
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file=__file__, attribute="defs"), location_name="housekeeping")
    with dg.instance_for_test(overrides={"retention": retention(REPO / config)}) as instance, \
            create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as context:
        location = context.create_request_context().get_code_location("housekeeping")
        sensor = next(iter(location.get_repositories().values())).get_sensor(SENSOR_NAME)
        now = time.time()

        def tick(status: TickStatus, days_ago: float) -> None:
            instance.create_tick(TickData(
                instigator_origin_id=sensor.get_remote_origin_id(), instigator_name=sensor.name,
                instigator_type=InstigatorType.SENSOR, status=status, timestamp=now - days_ago * DAY,
                selector_id=sensor.selector_id,
                run_ids=["a-run"] if status == TickStatus.SUCCESS else [],
                error=SerializableErrorInfo("failed", [], "Exception") if status == TickStatus.FAILURE else None))

        tick(TickStatus.SKIPPED, 8)     # past the 7 days of skipped ticks
        tick(TickStatus.SKIPPED, 6)
        tick(TickStatus.SUCCESS, 31)    # past 30 days
        tick(TickStatus.SUCCESS, 29)
        tick(TickStatus.FAILURE, 91)    # past 90 days
        tick(TickStatus.FAILURE, 89)

        list(execute_sensor_iteration(context, logging.getLogger("test"), None, None))

        ticks = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id)
        ages = sorted((t.status.value, round((now - t.timestamp) / DAY)) for t in ticks)
        # the daemon's own new tick (a skip: runs are no containers here) and the recent ones
        assert ages == [("FAILURE", 89), ("SKIPPED", 0), ("SKIPPED", 6), ("SUCCESS", 29)], ages
