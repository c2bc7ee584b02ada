"""Declarative automation: merged and ods wait for every shop's raw file of the date."""

from datetime import UTC, datetime

import dagster as dg

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.partitions import raw_partition_key
from yd_platform.definitions import build_definitions
from yd_platform.resources.shops import ShopSourceResource

RAW = dg.AssetKey(["jd", "store_inventory", "store_inventory_raw"])
MERGED = dg.AssetKey(["jd", "store_inventory", "store_inventory_merged"])
ODS = dg.AssetKey(["jd", "store_inventory", "store_inventory_ods"])
NOW = datetime(2025, 10, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _requested(result, key):
    return sorted(result.get_requested_partitions(key))


def _report(instance, key, partition):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_merged_waits_for_all_shops_then_ods_follows(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    shops = sync_shops(instance, catalog, ShopSourceResource(source="config"))["jd"]
    assert len(shops) == 2
    selection = dg.AssetSelection.assets(MERGED, ODS)

    result = dg.evaluate_automation_conditions(defs, instance, selection, evaluation_time=NOW)
    assert result.total_requested == 0

    _report(instance, RAW, raw_partition_key("2025-10-01", shops[0]))
    result = dg.evaluate_automation_conditions(
        defs, instance, selection, evaluation_time=NOW, cursor=result.cursor)
    assert _requested(result, MERGED) == []  # one shop still missing

    _report(instance, RAW, raw_partition_key("2025-10-01", shops[1]))
    result = dg.evaluate_automation_conditions(
        defs, instance, selection, evaluation_time=NOW, cursor=result.cursor)
    # merged and ods are requested together: one run merges, then publishes
    assert _requested(result, MERGED) == ["2025-10-01"]
    assert _requested(result, ODS) == ["2025-10-01"]

    _report(instance, MERGED, "2025-10-01")
    _report(instance, ODS, "2025-10-01")
    result = dg.evaluate_automation_conditions(
        defs, instance, selection, evaluation_time=NOW, cursor=result.cursor)
    assert result.total_requested == 0  # handled already: nothing twice


def test_backfilled_older_date_also_flows_downstream(yd_home, instance, catalog):
    """Raw partitions filled days later (T-3, a backfill) still trigger merged."""
    defs = build_definitions(catalog)
    shops = sync_shops(instance, catalog, ShopSourceResource(source="config"))["jd"]
    result = dg.evaluate_automation_conditions(
        defs, instance, dg.AssetSelection.assets(MERGED), evaluation_time=NOW)
    for shop in shops:
        _report(instance, RAW, raw_partition_key("2025-09-26", shop))
    result = dg.evaluate_automation_conditions(
        defs, instance, dg.AssetSelection.assets(MERGED), evaluation_time=NOW, cursor=result.cursor)
    assert _requested(result, MERGED) == ["2025-09-26"]
