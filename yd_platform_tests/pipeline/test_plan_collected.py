"""A schedule tick leaves out what is collected already: a shop whose raw partition is in
the instance, and every shop of a period adopted from the old system."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, raw_key
from yd_platform.datasets.partitions import raw_partition_key
from yd_platform.pipeline.plan import ADOPTED, RAW_MATERIALIZED, collected_in_instance, plan_dataset
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.schedule_ticks import schedule_tick

SH = ZoneInfo("Asia/Shanghai")
TICK = datetime(2025, 10, 2, 8, 30, tzinfo=SH)  # pdd badscore collects 2025-10-01


def _tick(defs, instance):
    return schedule_tick(defs, instance, "pdd__badscore__schedule", TICK)


def test_a_shop_already_in_is_not_requested_again(defs, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    instance.report_runless_asset_event(dg.AssetMaterialization(
        raw_key(ds), partition=raw_partition_key("2025-10-01", "pdd_outlet")))
    requests = _tick(defs, instance).run_requests
    assert sorted(r.partition_key for r in requests) == ["2025-10-01|pdd_flagship", "2025-10-01|pdd_kids"]
    plan = plan_dataset(ds, TICK.date(), ["pdd_flagship", "pdd_kids", "pdd_outlet"],
                        lambda d, period, shops: collected_in_instance(instance, d, period, shops))
    assert plan.collected == (("pdd_outlet", RAW_MATERIALIZED),)
    assert plan.as_json()["already_collected"] == {"pdd_outlet": RAW_MATERIALIZED}


def test_an_adopted_period_is_skipped_whole(defs, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    instance.report_runless_asset_event(dg.AssetMaterialization(merged_key(ds), partition="2025-10-01",
                                                                metadata={"adopted": True, "rows": 3}))
    data = _tick(defs, instance)
    assert data.run_requests == [] and ADOPTED in data.skip_message
    # merged again by the platform later: the period is the platform's own again
    instance.report_runless_asset_event(dg.AssetMaterialization(merged_key(ds), partition="2025-10-01",
                                                                metadata={"rows": 3}))
    assert len(_tick(defs, instance).run_requests) == 3
