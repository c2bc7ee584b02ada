"""The collect pools: per-platform slots come from the catalog, the instances enforce
pools out of the box (the end-to-end run on a real instance is in deploy/test_pools_instance)."""

from __future__ import annotations

from pathlib import Path

import yaml

from yd_platform.launch.pools import account_pool, platform_limits, platform_pool, sync_platform_pools

REPO = Path(__file__).resolve().parents[2]


def test_platform_pools_take_the_catalog_numbers(instance, catalog):
    expected = {platform_pool(code): p.max_concurrent_runs for code, p in catalog.platforms.items()
                if p.max_concurrent_runs > 0}
    assert platform_limits(catalog) == expected
    assert sync_platform_pools(instance, catalog) == expected
    limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
    assert {name: limits[name] for name in expected} == expected
    assert sync_platform_pools(instance, catalog) == {}  # already in step: nothing rewritten


def test_an_operator_change_in_the_ui_is_put_back(instance, catalog):
    sync_platform_pools(instance, catalog)
    instance.event_log_storage.set_concurrency_slots(platform_pool("pdd"), 9)
    assert sync_platform_pools(instance, catalog) == {platform_pool("pdd"): catalog.platforms["pdd"].max_concurrent_runs}


def test_both_instances_give_unconfigured_pools_one_slot():
    for path in (REPO / "dagster.yaml", REPO / "docker" / "dagster.yaml"):
        pools = yaml.safe_load(path.read_text(encoding="utf-8"))["concurrency"]["pools"]
        assert pools == {"granularity": "op", "default_limit": 1}, path


def test_pool_names_are_safe_for_any_account():
    assert account_pool("pdd", "pdd_acc_01") == "account_pdd_pdd_acc_01"
    odd = [account_pool("tm", name) for name in ("客服01", "客服02", "a/b", "a_b")]
    assert len(set(odd)) == 4 and all(name.isascii() for name in odd)
    assert odd[3] == "account_tm_a_b"
    assert platform_pool("jd") == "collect_jd"
