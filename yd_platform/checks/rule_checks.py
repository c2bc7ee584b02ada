"""Alert rules as asset checks: one `@multi_asset_check` per ODS table that has rules."""


from collections import defaultdict

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.checks.data import read_partition
from yd_platform.checks.dataset_checks import WITH_ASSET, combine
from yd_platform.checks.history import previous_key
from yd_platform.checks.rules import AlertRule, run_rule
from yd_platform.pipeline.assets import ods_key
from yd_platform.pipeline.partitions import time_partitions


def evaluate_rules(store, ds: DatasetSpec, rules: list[AlertRule], key: str):
    current = read_partition(store, ds, "ods", key)
    before = previous_key(ds, key)
    previous = read_partition(store, ds, "ods", before) if before else None
    return {rule.name: run_rule(rule, ds, current, previous) for rule in rules}


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
        per_key = {key: evaluate_rules(store, ds, rules, key) for key in context.partition_keys}
        for rule in rules:
            passed, description, metadata = combine({k: o[rule.name] for k, o in per_key.items()})
            if rule.channels:
                metadata["channels"] = ",".join(rule.channels)
            if rule.owners:
                metadata["owners"] = ", ".join(rule.owners)
            yield dg.AssetCheckResult(
                asset_key=asset_key, check_name=rule.name, passed=passed, description=description,
                severity=dg.AssetCheckSeverity(rule.severity), metadata=metadata,
            )

    return _rules


def build_all_rule_checks(rules: list[tuple[AlertRule, DatasetSpec]]) -> list[dg.AssetChecksDefinition]:
    by_dataset: dict[str, list[AlertRule]] = defaultdict(list)
    specs: dict[str, DatasetSpec] = {}
    for rule, ds in rules:
        by_dataset[ds.slug].append(rule)
        specs[ds.slug] = ds
    return [build_rule_checks(specs[slug], group) for slug, group in by_dataset.items()]
