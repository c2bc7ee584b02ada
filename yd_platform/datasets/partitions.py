"""Partitions of every dataset: time windows from the cadence, shops as dynamic partitions.

- raw:    date x shop  (MultiPartitionsDefinition, shop = DynamicPartitionsDefinition
          named `<platform>_shops`, kept in step with the shop source by a sensor)
- merged, ods: date only

Daily keys are `YYYY-MM-DD`, weekly keys are the window's first day (the window starts
on the weekday the configured T-9..T-3 range implies), monthly keys are `YYYY-MM`.

The ODS tables spell a partition as their existing readers (Dremio views, dashboards)
filter on it: the Hive folder is always `dt=`, daily `dt=2025-10-01`, weekly and
monthly first and last day, `dt=2025-09-25_2025-10-01`, `dt=2025-09-01_2025-09-30`.
`ods_partition_value` and `ods_partition_of_value` translate between the two spellings.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from yd_platform.catalog import Cadence, DatasetSpec
from yd_platform.catalog.periods import period_from_key, period_from_span

DATE_DIM = "date"
SHOP_DIM = "shop"
# A backfill of a year becomes ~12 runs per stage, not 365; the merged and ods bodies
# loop over `context.partition_keys`.
PARTITIONS_PER_RUN = 31


def range_backfill_policy() -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN)


def time_partitions(ds: DatasetSpec) -> dg.TimeWindowPartitionsDefinition:
    start = ds.start_date.isoformat()
    if ds.cadence is Cadence.daily:
        # A T+0 dataset (quality) collects today's partition, which Dagster only
        # exposes with end_offset=1.
        end_offset = 1 if ds.offset == 0 else 0
        return dg.DailyPartitionsDefinition(start_date=start, timezone=ds.timezone, end_offset=end_offset)
    if ds.cadence is Cadence.weekly:
        return dg.WeeklyPartitionsDefinition(
            start_date=start, day_offset=ds.weekly_start_weekday, timezone=ds.timezone
        )
    return dg.MonthlyPartitionsDefinition(
        start_date=ds.start_date.strftime("%Y-%m"), fmt="%Y-%m", timezone=ds.timezone
    )


@cache
def shop_partitions(platform: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=f"{platform}_shops")


def raw_partitions(ds: DatasetSpec) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {DATE_DIM: time_partitions(ds), SHOP_DIM: shop_partitions(ds.platform)}
    )


def raw_partition_key(period_key: str, shop: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DATE_DIM: period_key, SHOP_DIM: shop})


ODS_PARTITION_COLUMN = "dt"


def ods_partition_value(ds: DatasetSpec, partition_key: str) -> str:
    """The `dt=` folder value of a Dagster partition key (`2025-09` -> `2025-09-01_2025-09-30`)."""
    period = period_from_key(ds.cadence, partition_key)
    return period.key if ds.cadence is Cadence.daily else period.span


def ods_partition_of_value(ds: DatasetSpec, value: str) -> str | None:
    """The Dagster partition key a `dt=` folder value stands for; None when the value is
    not one of the dataset's periods (a 6-day range, a week starting on another weekday)."""
    try:
        if ds.cadence is Cadence.daily:
            period = period_from_key(ds.cadence, value)
        else:
            period = period_from_span(ds.cadence, value)
    except ValueError:
        return None
    if ods_partition_value(ds, period.key) != value:
        return None
    if ds.cadence is Cadence.weekly and (period.start.weekday() + 1) % 7 != ds.weekly_start_weekday:
        return None
    return period.key
