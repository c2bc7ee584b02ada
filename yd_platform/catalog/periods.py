"""Date rules: which period a tick on day T asks for, and how periods are spelled.

A `Period` has three spellings: `key`, the Dagster partition key (daily `YYYY-MM-DD`,
weekly the window's first day `YYYY-MM-DD`, monthly `YYYY-MM`); `label`, the format
the old task tables used (weekly `YYYY-MM-DD_YYYY-MM-DD`); and `span`, first and last
day `YYYY-MM-DD_YYYY-MM-DD` as the ODS `dt=` folders of weekly and monthly tables spell
it. Schedules and the `plan` command both go through `period_for_tick`, so they can
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from yd_platform.catalog.models import Cadence, DatasetSpec


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive
    cadence: Cadence

    @property
    def key(self) -> str:
        if self.cadence is Cadence.monthly:
            return self.start.strftime("%Y-%m")
        return self.start.isoformat()

    @property
    def label(self) -> str:
        return self.span if self.cadence is Cadence.weekly else self.key

    @property
    def span(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _month_end(first: date) -> date:
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def period_for_tick(dataset: DatasetSpec, tick_date: date) -> Period:
    """The period a schedule tick on `tick_date` (day T) collects for `dataset`."""
    if dataset.cadence is Cadence.daily:
        day = tick_date + timedelta(days=dataset.offset or 0)
        return Period(day, day, Cadence.daily)
    if dataset.cadence is Cadence.weekly:
        start_off, end_off = dataset.range  # type: ignore[misc]
        return Period(
            tick_date + timedelta(days=start_off), tick_date + timedelta(days=end_off), Cadence.weekly
        )
    first_this_month = tick_date.replace(day=1)
    last_month_end = first_this_month - timedelta(days=1)
    first = last_month_end.replace(day=1)
    return Period(first, last_month_end, Cadence.monthly)


def period_from_key(cadence: Cadence, key: str) -> Period:
    """Parse a Dagster partition key back into its period."""
    try:
        if cadence is Cadence.monthly:
            first = datetime.strptime(key, "%Y-%m").date()
            return Period(first, _month_end(first), cadence)
        start = date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"{key!r} is not a {cadence.value} partition key") from None
    if cadence is Cadence.weekly:
        return Period(start, start + timedelta(days=6), cadence)
    return Period(start, start, cadence)


def period_from_span(cadence: Cadence, span: str) -> Period:
    """Parse `<first>_<last>` back into its period; a range that is not exactly one
    period of the cadence (a 6-day week, half a month, `2025-9-1`) is a ValueError."""
    first, _, _ = span.partition("_")
    try:
        start = date.fromisoformat(first)
    except ValueError:
        start = None
    period = period_from_key(cadence, Period(start, start, cadence).key) if start else None
    if period is None or period.span != span:
        raise ValueError(f"{span!r} is not a {cadence.value} period `<first day>_<last day>`")
    return period


def period_from_label(cadence: Cadence, label: str) -> Period:
    """Parse the old task-table spelling (weekly `start_end`) into a period."""
    if cadence is Cadence.weekly and "_" in label:
        start, _, end = label.partition("_")
        period = period_from_key(cadence, start)
        if period.end.isoformat() != end:
            raise ValueError(f"{label!r} is not a 7-day window")
        return period
    return period_from_key(cadence, label)


def ticks_on(dataset: DatasetSpec, day: date) -> list[datetime]:
    """The schedule's tick times on `day` in the dataset's timezone (usually one or none)."""
    tz = ZoneInfo(dataset.timezone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    itr = croniter(dataset.cron, start - timedelta(seconds=1))
    out = []
    while True:
        nxt = itr.get_next(datetime)
        if nxt.date() != day:
            return out
        out.append(nxt)


def tick_date(scheduled_time: datetime, timezone: str) -> date:
    """Day T of a tick, in the catalog timezone."""
    return scheduled_time.astimezone(ZoneInfo(timezone)).date()
