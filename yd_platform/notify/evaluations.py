"""From a stored check evaluation to the per-partition items the notifier tracks.

Dagster records one evaluation per check and run. A run over one partition carries it
in `evaluation.partition`; a run over a range (a backfill) has no partition there, and
the checks put each partition's result under `PARTITION_RESULTS` in its metadata. The
notifier keeps its alert state per check and partition, so both shapes become a list of
`CheckFailure` items, one per partition; several items of one evaluation are announced
in one message (a failed backfill of a month is one alert, not thirty).
"""

from __future__ import annotations

import dagster as dg

from yd_platform.datasets.check_results import PARTITION_RESULTS, meta_value
from yd_platform.notify.messages import FIGURE_KEYS, CheckFailure

LISTED_PARTITIONS = 10


def failure_from_evaluation(evaluation: dg.AssetCheckEvaluation) -> CheckFailure:
    """The evaluation as one item (its partition, or the `partition` metadata)."""
    meta = evaluation.metadata or {}
    figure = next((str(meta_value(meta, k)) for k in FIGURE_KEYS if meta_value(meta, k) is not None), "-")
    return CheckFailure(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        partition=evaluation.partition or str(meta_value(meta, "partition") or ""),
        severity=evaluation.severity.value,
        passed=evaluation.passed,
        description=evaluation.description or "",
        figure=figure,
        sample=str(meta_value(meta, "sample") or ""),
    )


def items_from_evaluation(evaluation: dg.AssetCheckEvaluation) -> list[CheckFailure]:
    """One item per partition the evaluation speaks about, sorted by partition."""
    results = meta_value(evaluation.metadata or {}, PARTITION_RESULTS)
    if evaluation.partition or not isinstance(results, dict) or not results:
        return [failure_from_evaluation(evaluation)]
    asset, check = evaluation.asset_key.to_user_string(), evaluation.check_name
    return [
        CheckFailure(asset=asset, check=check, partition=str(key), severity=evaluation.severity.value,
                     passed=bool(result.get("passed")), description=str(result.get("description") or ""),
                     figure=str(result.get("failing_count", "-")), sample=str(result.get("sample") or ""))
        for key, result in sorted(results.items())
        if isinstance(result, dict)
    ]


def partition_list(keys: list[str]) -> str:
    """`a, b, c` or, for many, the first ones and how many more."""
    if len(keys) <= LISTED_PARTITIONS:
        return ", ".join(keys)
    return f"{', '.join(keys[:LISTED_PARTITIONS])} and {len(keys) - LISTED_PARTITIONS} more"


def group(items: list[CheckFailure]) -> CheckFailure:
    """Several partitions of one check as one item for one message."""
    if len(items) == 1:
        return items[0]
    first = items[0]
    figures = [i.figure for i in items]
    figure = str(sum(int(f) for f in figures)) if all(f.lstrip("-").isdigit() for f in figures) else "; ".join(figures)
    return CheckFailure(
        asset=first.asset, check=first.check, partition=partition_list([i.partition for i in items]),
        severity=first.severity, passed=first.passed,
        description="; ".join(f"{i.partition}: {i.description}" for i in items if i.description),
        figure=f"{figure} over {len(items)} partitions",
        sample=next((i.sample for i in items if i.sample and i.sample != "-"), ""),
    )
