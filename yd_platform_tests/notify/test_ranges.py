"""A run over a range of partitions (a backfill) is alerted, recovered and escalated per
partition; a backlog longer than one history page is not lost."""

import dagster as dg
import pytest

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key
from yd_platform.definitions import build_definitions
from yd_platform.notify.notifier import HISTORY_PER_CHECK, Notifier
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.notify.conftest import make_config
from yd_platform_tests.object_files import put_raw, reviews
from yd_platform_tests.robots import DINGTALK_PATH as DING
from yd_platform_tests.robots import WECOM_PATH as WECOM

SHOPS = ("pdd_flagship", "pdd_outlet", "pdd_kids")
RANGE = {"dagster/asset_partition_range_start": "2025-10-01", "dagster/asset_partition_range_end": "2025-10-03"}


@pytest.mark.slow
def test_backfill_range_is_tracked_per_partition(yd_home, embedded_store, instance, catalog, engine, clock, robot,
                                                  channels):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    for day in ("2025-10-01", "2025-10-02", "2025-10-03"):
        for shop in SHOPS:
            if not (shop == "pdd_kids" and day != "2025-10-01"):
                put_raw(embedded_store, ds, day, shop, reviews(f"{shop}{day}", 3))
    job = defs.resolve_job_def("pdd__badscore__publish")
    assert job.execute_in_process(instance=instance, tags=RANGE, raise_on_error=False).success
    keys = [dg.AssetCheckKey(merged_key(ds), "shops_present")]
    notifier = Notifier(engine, make_config(escalate_after_minutes=120), channels, clock=clock)

    notifier.tick(instance, keys)
    [alert] = robot.texts(WECOM)
    assert "partition: 2025-10-02, 2025-10-03" in alert and "failing: 2 over 2 partitions" in alert
    assert "2025-10-02: missing shops: pdd_kids" in alert

    # the shop's file for one day arrives and that day is rerun on its own
    put_raw(embedded_store, ds, "2025-10-02", "pdd_kids", reviews("late", 2))
    assert job.execute_in_process(partition_key="2025-10-02", instance=instance, raise_on_error=False).success
    clock.advance(60)
    notifier.tick(instance, keys)
    recovered = robot.texts(WECOM)[-1]
    assert "recovered" in recovered and "partition: 2025-10-02" in recovered and "2025-10-03" not in recovered

    clock.advance(120 * 60)
    notifier.tick(instance, keys)
    [escalation] = robot.texts(DING)
    assert "shops_present 2025-10-03" in escalation and "2025-10-02" not in escalation
    assert len(robot.delivered(WECOM)) == 2


@pytest.mark.slow
def test_backlog_longer_than_a_history_page_is_all_alerted(instance, engine, clock, robot, channels):
    asset = dg.AssetKey(["pdd", "badscore", "merged"])
    days = [f"2025-09-{d:02d}" for d in range(1, HISTORY_PER_CHECK + 6)]
    for day in days:
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=asset, check_name="volume_normal", passed=False, severity=dg.AssetCheckSeverity.WARN,
            description="0 rows vs 40.0 average", metadata={"failing_count": 40, "partition": day}))
    notifier = Notifier(engine, make_config(), channels, clock=clock)
    assert notifier.scan(instance, [dg.AssetCheckKey(asset, "volume_normal")]) == len(days)
    assert notifier.scan(instance, [dg.AssetCheckKey(asset, "volume_normal")]) == 0
