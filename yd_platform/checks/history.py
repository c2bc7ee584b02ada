"""Earlier partitions of a dataset, for volume comparison and period-over-period rules.

The arithmetic is the dataset's own partitions definition (`time_partitions`): the
partition before a key is the window Dagster has before it, so a weekly key is always a
real week's key and nothing before the dataset's first partition is asked for.
"""

from __future__ import annotations

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.partitions import time_partitions


def previous_keys(ds: DatasetSpec, key: str, count: int) -> list[str]:
    """Up to `count` partition keys before `key`, nearest first."""
    partitions = time_partitions(ds)
    start = partitions.time_window_for_partition_key(key).start
    out: list[str] = []
    while len(out) < count:
        window = partitions.get_prev_partition_window(start)
        if window is None:
            break
        out.append(partitions.get_partition_key_for_timestamp(window.start.timestamp()))
        start = window.start
    return out


def previous_key(ds: DatasetSpec, key: str) -> str | None:
    """The partition right before `key`, or None before the dataset's first partition."""
    keys = previous_keys(ds, key, 1)
    return keys[0] if keys else None
