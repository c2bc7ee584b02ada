"""When downstream stages run by themselves.

`eager()` only looks at the latest time window, but our datasets collect T-1, T-3,
T-4, last week or last month, and operators backfill recent days; so the window is
widened per dataset. A partition runs once every upstream partition it maps to is
present (for merged: every active shop's raw file for that date), nothing upstream is
still running, and upstream blocking checks passed.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from yd_platform.catalog import Cadence, DatasetSpec

MIN_LOOKBACK_DAYS = {Cadence.daily: 7, Cadence.weekly: 35, Cadence.monthly: 62}


def lookback(ds: DatasetSpec) -> timedelta:
    return timedelta(days=max(ds.automation_lookback_days, MIN_LOOKBACK_DAYS[ds.cadence]))


def when_upstream_complete(window: timedelta | None = None) -> dg.AutomationCondition:
    """Run a partition once all of its upstream partitions are in and checked."""
    in_window = (
        dg.AutomationCondition.in_latest_time_window(window)
        if window is not None
        else dg.AutomationCondition.in_latest_time_window()
    )
    return (
        in_window
        & (
            dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
        ).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("all upstream partitions in")


def for_dataset(ds: DatasetSpec) -> dg.AutomationCondition:
    return when_upstream_complete(lookback(ds))
