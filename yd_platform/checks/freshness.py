"""Freshness: the partition a dataset owes by its deadline (e.g. T-1 by 10:00) exists.

The due partition is the one the latest schedule tick asked for (`period_for_tick`), once
that tick's deadline has passed; before the deadline the previous tick's partition is due.
The check runs with the publish job, and a sensor reports it without a run as soon as a
deadline passes, so a dataset that never arrives still raises an alert.

Every dataset gets the check. Its deadline is `checks.freshness_deadline` (HH:MM) when
configured; otherwise the partition is due `DEFAULT_GRACE` after its schedule tick, the
margin the configured deadlines give (08:30 tick, due 10:00).
"""


import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from croniter import croniter

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import Period, period_for_tick
from yd_platform.datasets.keys import ods_key

CHECK_NAME = "freshness"
SENSOR_NAME = "yd_freshness"
DEFAULT_GRACE = timedelta(minutes=90)


@dataclass(frozen=True)
class FreshnessDue:
    period: Period
    deadline: datetime


def deadline_after(ds: DatasetSpec, tick: datetime) -> datetime:
    """When the partition asked for by `tick` must exist: the configured HH:MM on the tick's
    day (the next day if that is before the tick), or `DEFAULT_GRACE` after the tick."""
    if not ds.checks.freshness_deadline:
        return tick + DEFAULT_GRACE
    deadline = datetime.combine(tick.date(), time.fromisoformat(ds.checks.freshness_deadline), tzinfo=tick.tzinfo)
    return deadline + timedelta(days=1) if deadline < tick else deadline


def deadline_text(ds: DatasetSpec) -> str:
    if ds.checks.freshness_deadline:
        return f"by {ds.checks.freshness_deadline} ({ds.timezone})"
    return f"{DEFAULT_GRACE.total_seconds() / 60:g} minutes after its schedule tick ({ds.cron}, {ds.timezone})"


def due_partition(ds: DatasetSpec, now: datetime) -> FreshnessDue | None:
    """The latest partition whose deadline is not after `now` (None before the first one)."""
    local_now = now.astimezone(ZoneInfo(ds.timezone))
    ticks = croniter(ds.cron, local_now + timedelta(days=1))
    for _ in range(400):
        tick = ticks.get_prev(datetime)
        deadline = deadline_after(ds, tick)
        if deadline <= local_now:
            return FreshnessDue(period_for_tick(ds, tick.date()), deadline)
    return None


def partition_materialized(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str) -> bool:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    )
    return bool(records.records)


def freshness_result(instance: dg.DagsterInstance, ds: DatasetSpec, now: datetime) -> dg.AssetCheckResult:
    due = due_partition(ds, now)
    if due is None:
        return dg.AssetCheckResult(passed=True, description="no partition due yet")
    present = partition_materialized(instance, ods_key(ds), due.period.key)
    text = (f"partition {due.period.key} present" if present
            else f"partition {due.period.key} missing after its deadline {due.deadline:%Y-%m-%d %H:%M %Z}")
    return dg.AssetCheckResult(
        asset_key=ods_key(ds), check_name=CHECK_NAME, passed=present, severity=dg.AssetCheckSeverity.ERROR,
        description=text,
        metadata={"partition": due.period.key, "deadline": due.deadline.isoformat(),
                  "failing_count": 0 if present else 1},
    )


def build_freshness_check(ds: DatasetSpec, clock: Callable[[], datetime]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ods_key(ds), name=CHECK_NAME,
        description=f"The due partition exists {deadline_text(ds)}.",
    )
    def _freshness(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        return freshness_result(context.instance, ds, clock())

    return _freshness


def report_freshness(instance: dg.DagsterInstance, catalog: Catalog, now: datetime,
                     last: dict[str, str]) -> dict[str, str]:
    """Report an evaluation per dataset whose due partition or status changed; returns the new state."""
    state = dict(last)
    for ds in catalog.datasets(enabled_only=True):
        result = freshness_result(instance, ds, now)
        if "partition" not in result.metadata:
            continue
        status = f"{result.metadata['partition'].value}:{'ok' if result.passed else 'missing'}"
        if state.get(ds.slug) == status:
            continue
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=ods_key(ds), check_name=CHECK_NAME, passed=result.passed,
            metadata=result.metadata, severity=result.severity, description=result.description,
        ))
        state[ds.slug] = status
    return state


def build_freshness_sensor(catalog: Catalog, clock: Callable[[], datetime]) -> dg.SensorDefinition:
    @dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Reports each dataset's freshness check when its deadline passes or the partition arrives.")
    def _sensor(context: dg.SensorEvaluationContext):
        last = json.loads(context.cursor) if context.cursor else {}
        state = report_freshness(context.instance, catalog, clock(), last)
        context.update_cursor(json.dumps(state, sort_keys=True))
        return dg.SkipReason(f"{sum(v.endswith(':missing') for v in state.values())} datasets overdue")

    return _sensor
