"""Partitions of every dataset: time windows from the cadence, shops as dynamic partitions.

- raw:    date x shop  (MultiPartitionsDefinition, shop = DynamicPartitionsDefinition
          named `<platform>_shops`, kept in step with the shop source by a sensor)
- merged, ods: date only

Daily keys are `YYYY-MM-DD`, weekly keys are the window's first day (the window starts
on the weekday the configured T-9..T-3 range implies), monthly keys are `YYYY-MM`.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from yd_platform.catalog import Cadence, DatasetSpec

DATE_DIM = "date"
SHOP_DIM = "shop"


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


def ods_partition_column(ds: DatasetSpec) -> str:
    """Hive partition column of the ODS table: dt (daily), week (weekly), month (monthly)."""
    return {Cadence.daily: "dt", Cadence.weekly: "week", Cadence.monthly: "month"}[ds.cadence]
