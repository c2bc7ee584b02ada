"""The instances limit collect runs the way the collectors expect: one run per merchant
account, and per platform no more than the catalog's `max_concurrent_runs`."""

from __future__ import annotations

from pathlib import Path

import yaml

from yd_platform.cli.up import EMBEDDED_INSTANCE_YAML

PRODUCTION_INSTANCE = Path(__file__).resolve().parents[2] / "dagster.yaml"


def _limits(instance_yaml: str) -> list[dict]:
    return yaml.safe_load(instance_yaml)["run_coordinator"]["config"]["tag_concurrency_limits"]


def _one_run_per_account(limits: list[dict]) -> bool:
    return any(rule["key"] == "yd/account" and rule["limit"] == 1
               and rule.get("value") == {"applyLimitPerUniqueValue": True} for rule in limits)


def test_production_instance_limits_accounts_and_platforms(catalog):
    limits = _limits(PRODUCTION_INSTANCE.read_text(encoding="utf-8"))
    assert _one_run_per_account(limits)
    per_platform = {rule["value"]: rule["limit"] for rule in limits if rule["key"] == "yd/platform"}
    assert per_platform == {code: p.max_concurrent_runs for code, p in catalog.platforms.items()}


def test_embedded_instance_limits_accounts():
    assert _one_run_per_account(_limits(EMBEDDED_INSTANCE_YAML))
