from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from yd_platform.catalog.loader import DEFAULT_CATALOG, parse_catalog
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.pipeline.schedules import build_schedules
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.schedule_ticks import schedule_tick

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("schedule", "when", "partition"),
    [
        ("pdd__badscore__schedule", datetime(2025, 10, 2, 8, 30, tzinfo=SH), "2025-10-01"),
        ("pdd__quality__schedule", datetime(2025, 10, 2, 8, 0, tzinfo=SH), "2025-10-02"),
        ("pdd__kpi_days__schedule", datetime(2025, 10, 2, 11, 0, tzinfo=SH), "2025-09-29"),
        ("tm__kpi_official__schedule", datetime(2025, 10, 5, 11, 0, tzinfo=SH), "2025-10-01"),
        ("pdd__kpi_weekly__schedule", datetime(2025, 10, 4, 12, 0, tzinfo=SH), "2025-09-25"),
        ("pdd__kpi_monthly__schedule", datetime(2026, 1, 3, 12, 30, tzinfo=SH), "2025-12"),
        ("erp__goodscount__schedule", datetime(2025, 10, 1, 7, 0, tzinfo=SH), "2025-09-30"),
        # 00:30 in Shanghai is still the previous day in UTC: T must be the Shanghai date
        ("jd__store_inventory__schedule", datetime(2025, 10, 2, 7, 30, tzinfo=SH), "2025-10-01"),
    ],
)
def test_tick_requests_the_period_for_every_shop(defs, instance, catalog, schedule, when, partition):
    shops = sync_shops(instance, catalog, ShopSourceResource(source="config"))
    platform, dataset = schedule.split("__")[:2]
    data = schedule_tick(defs, instance, schedule, when)
    requests = data.run_requests
    assert sorted(r.partition_key for r in requests) == sorted(
        f"{partition}|{shop}" for shop in shops[platform]
    )
    assert sorted(r.run_key for r in requests) == sorted(
        f"{platform}__{dataset}|{partition}|{shop}" for shop in shops[platform]
    )
    job = defs.resolve_job_def(f"{platform}__{dataset}__collect")
    valid = set(job.partitions_def.get_partition_keys(dynamic_partitions_store=instance))
    assert {r.partition_key for r in requests} <= valid
    # a repeated tick asks for exactly the same run keys, so Dagster creates nothing twice
    again = schedule_tick(defs, instance, schedule, when).run_requests
    assert [r.run_key for r in again] == [r.run_key for r in requests]


def test_tick_tags_runs_with_account_for_concurrency(defs, instance, catalog):
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    when = datetime(2025, 10, 2, 8, 30, tzinfo=SH)
    requests = schedule_tick(defs, instance, "pdd__badscore__schedule", when).run_requests
    by_shop = {r.partition_key.split("|")[1]: r.tags for r in requests}
    assert by_shop["pdd_flagship"]["yd/account"] == "pdd:pdd_acc_01"
    assert by_shop["pdd_flagship"]["yd/period"] == "2025-10-01"


def test_no_shops_means_skip_not_failure(defs, instance):
    data = schedule_tick(defs, instance, "pdd__badscore__schedule", datetime(2025, 10, 2, 8, 30, tzinfo=SH))
    assert not data.run_requests
    assert "no active shops" in data.skip_message


def test_disabled_dataset_gets_no_schedule():
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["platforms"]["pdd"]["datasets"]["quality"]["enabled"] = False
    catalog = parse_catalog(yaml.safe_dump(raw, allow_unicode=True))
    names = {s.name for s in build_schedules(catalog)}
    assert "pdd__quality__schedule" not in names
    assert "pdd__badscore__schedule" in names
    assert len(names) == len(catalog.datasets(enabled_only=True))


def test_schedules_run_in_shanghai_at_the_seed_times(defs):
    expected = {
        "erp__goodscount__schedule": "0 7 * * *",
        "jd__store_inventory__schedule": "30 7 * * *",
        "pdd__quality__schedule": "0 8 * * *",
        "pdd__badscore__schedule": "30 8 * * *",
        "pdd__kpi_days__schedule": "0 11 * * *",
        "pdd__kpi_weekly__schedule": "0 12 * * 6",
        "pdd__kpi_monthly__schedule": "30 12 3 * *",
    }
    for name, cron in expected.items():
        schedule = defs.resolve_schedule_def(name)
        assert schedule.cron_schedule == cron
        assert schedule.execution_timezone == "Asia/Shanghai"
