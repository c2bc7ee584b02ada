"""Alert rules as asset checks: one `@multi_asset_check` per ODS table that has rules."""


from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache

import dagster as dg
import pyarrow as pa

from yd_platform.catalog import DatasetSpec
from yd_platform.checks.data import read_partition
from yd_platform.checks.dataset_checks import WITH_ASSET
from yd_platform.checks.history import previous_key
from yd_platform.checks.per_partition import PartitionResults
from yd_platform.checks.rules import AlertRule, run_rules
from yd_platform.datasets.keys import ods_key
from yd_platform.datasets.partitions import time_partitions


def evaluate_rules(read: Callable[[str], pa.Table | None], ds: DatasetSpec, rules: list[AlertRule], key: str):
    """`read(key)` gives an ODS partition's rows (None when absent)."""
    before = previous_key(ds, key)
    return run_rules(rules, ds, read(key), read(before) if before else None)


def build_rule_checks(ds: DatasetSpec, rules: list[AlertRule]) -> dg.AssetChecksDefinition:
    asset_key = ods_key(ds)
    specs = [
        dg.AssetCheckSpec(
            rule.name, asset=asset_key, partitions_def=time_partitions(ds),
            description=rule.description or f"alert rule {rule.name}",
            metadata={"severity": rule.severity, "owners": ", ".join(rule.owners) or "-",
                      "condition": rule.query},
            automation_condition=WITH_ASSET,
        )
        for rule in rules
    ]

    @dg.multi_asset_check(name=f"{ds.slug}__alert_rules", specs=specs, required_resource_keys={"object_store"},
                          description=f"Alert rules on {ds.table}.")
    def _rules(context: dg.AssetCheckExecutionContext):
        store = context.resources.object_store.client()
        # In a range run (keys in order) each partition is also the previous one of the
        # next: keep the last two read.
        read = lru_cache(maxsize=2)(lambda key: read_partition(store, ds, "ods", key))
        per_key = {key: evaluate_rules(read, ds, rules, key) for key in context.partition_keys}
        results = PartitionResults(context)
        for rule in rules:
            extra = {"channels": ",".join(rule.channels)} if rule.channels else {}
            if rule.owners:
                extra["owners"] = ", ".join(rule.owners)
            yield from results.emit(asset_key, rule.name, dg.AssetCheckSeverity(rule.severity),
                                    {k: o[rule.name] for k, o in per_key.items()}, extra)

    return _rules


def build_all_rule_checks(rules: list[tuple[AlertRule, DatasetSpec]]) -> list[dg.AssetChecksDefinition]:
    by_dataset: dict[str, list[AlertRule]] = defaultdict(list)
    specs: dict[str, DatasetSpec] = {}
    for rule, ds in rules:
        by_dataset[ds.slug].append(rule)
        specs[ds.slug] = ds
    return [build_rule_checks(specs[slug], group) for slug, group in by_dataset.items()]
