"""Earlier partitions of a dataset, for volume comparison and period-over-period rules."""

from __future__ import annotations

from datetime import timedelta

from yd_platform.catalog import Cadence, DatasetSpec
from yd_platform.catalog.periods import period_from_key


def previous_key(ds: DatasetSpec, key: str) -> str | None:
    """The partition right before `key`, or None before the dataset's start date."""
    period = period_from_key(ds.cadence, key)
    if ds.cadence is Cadence.daily:
        start = period.start - timedelta(days=1)
    elif ds.cadence is Cadence.weekly:
        start = period.start - timedelta(days=7)
    else:
        start = (period.start - timedelta(days=1)).replace(day=1)
    first = ds.start_date.replace(day=1) if ds.cadence is Cadence.monthly else ds.start_date
    last_day = start + timedelta(days=6) if ds.cadence is Cadence.weekly else start
    if last_day < first:
        return None
    return start.strftime("%Y-%m") if ds.cadence is Cadence.monthly else start.isoformat()


def previous_keys(ds: DatasetSpec, key: str, count: int) -> list[str]:
    """Up to `count` partitions before `key`, nearest first."""
    out: list[str] = []
    current: str | None = key
    while len(out) < count:
        current = previous_key(ds, current)
        if current is None:
            break
        out.append(current)
    return out
