"""Reading check results back from the instance: a check-execution record's evaluation, its
metadata values, and the per-partition results of a range run.

A run over one partition records the evaluation's partition in `evaluation.partition`.
Evaluations stored by earlier range runs carry no partition there and hold each
partition's result under `PARTITION_RESULTS` in their metadata instead; the instance's
history keeps them, so whoever reads that history (alerting, metrics) reads both shapes.
"""

from __future__ import annotations

import dagster as dg

PARTITION_RESULTS = "partition_results"


def evaluation_of(record) -> dg.AssetCheckEvaluation | None:
    """The evaluation of a check-execution record (None while it is only planned)."""
    event = record.event.dagster_event if record.event is not None else None
    data = event.event_specific_data if event is not None else None
    return data if isinstance(data, dg.AssetCheckEvaluation) else None


def meta_value(metadata, key: str):
    """A metadata entry's plain value (None when absent)."""
    item = metadata.get(key)
    return getattr(item, "value", item) if item is not None else None
