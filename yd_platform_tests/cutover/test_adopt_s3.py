"""Adoption on S3 (moto's server on loopback) with the old machines' merged workbooks and
shop files, then the automation and the schedules evaluated against the real instance:
nothing is requested for the adopted periods, so nothing is collected or merged again."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from yd_platform.catalog.periods import period_from_key
from yd_platform.cli import main as cli
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, ods_key, raw_key
from yd_platform.datasets.partitions import ods_partition_value, raw_partition_key, time_partitions
from yd_platform.definitions import build_definitions
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.cutover.old_layout import (
    badscore_rows,
    kpi_rows,
    old_parquet,
    old_workbook,
    put_old,
    shop_file,
)
from yd_platform_tests.schedule_ticks import schedule_tick

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.slow


@pytest.fixture
def on_s3(minio_store, yd_home, tmp_path, monkeypatch):
    """The platform configured for the loopback S3 bucket, and an instance in DAGSTER_HOME."""
    for name, value in {"YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": minio_store.endpoint,
                        "YD_MINIO_ACCESS_KEY": minio_store.access_key, "YD_MINIO_SECRET_KEY": minio_store.secret_key,
                        "YD_MINIO_BUCKET": minio_store.bucket, "YD_MINIO_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return minio_store.client()


def test_adopted_periods_are_never_collected_or_merged_again(on_s3, catalog, tmp_path, capsys):
    store = on_s3
    badscore, weekly = catalog.dataset("pdd", "badscore"), catalog.dataset("pdd", "kpi_weekly")
    days = time_partitions(badscore).get_partition_keys()[-6:-2]  # four recent days, in the automation window
    week = time_partitions(weekly).get_partition_keys()[-1]
    shops = {s.id: s.name for s in catalog.platforms["pdd"].active_shops()}
    # the old object store: two days of badscore, last week's KPI, one unreadable object
    for day in days[:2]:
        put_old(store, f"ods/pdd/pdd_badscore/dt={day}/merged_badscore_data.parquet",
                old_parquet([r for name in shops.values() for r in badscore_rows(name, day, 3)]))
    put_old(store, f"ods/pdd/pdd_kpi_weekly/dt={ods_partition_value(weekly, week)}/merged_kpi_data.parquet",
            old_parquet(kpi_rows(shops["pdd_flagship"], 2)))
    put_old(store, f"ods/pdd/pdd_badscore/dt={days[3]}/merged_badscore_data.parquet", b"\x00not parquet")
    # the old machine: day 3 never reached the object store, its workbook and shop files did stay
    old = tmp_path / "old"
    day3_rows = [r for name in shops.values() for r in badscore_rows(name, days[2], 2)]
    old_workbook(day3_rows, old / "pdd" / "合并文件" / "评价文件存档" / f"{days[2]}.xlsx")
    for name in shops.values():
        shop_file([r for r in day3_rows if r["shop"] == name], old / "pdd" / "评价文件存档" / days[2] / f"{name}.xlsx")
    shop_file(badscore_rows(shops["pdd_flagship"], days[1], 3), old / "pdd" / "评价文件存档" / days[1] / "拼多多旗舰店.xlsx")
    shop_file(badscore_rows("闭店的店", days[1], 1), old / "pdd" / "评价文件存档" / days[1] / "闭店的店.xlsx")
    old_workbook(day3_rows, old / "pdd" / "合并文件" / "评价文件存档" / "合并说明.xlsx")

    defs = build_definitions(catalog)
    selection = dg.AssetSelection.all()
    with dg.DagsterInstance.get() as instance:
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
        # the automation sensor has been running before the adoption
        before = dg.evaluate_automation_conditions(defs, instance, selection)

    assert cli.main(["adopt", "--platforms", "pdd", "--old-files", str(old), "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    with dg.DagsterInstance.get() as instance:
        assert not instance.get_materialized_partitions(ods_key(badscore))

    assert cli.main(["adopt", "--platforms", "pdd", "--old-files", str(old), "--apply", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["adopted"] == dry["adopted"]
    rows = {(a["dataset"], a["partition"], tuple(a["stages"])): a["rows"] for a in report["adopted"]}
    assert rows[("pdd/badscore", days[0], ("merged", "ods"))] == 9
    assert rows[("pdd/badscore", days[2], ("merged", "ods"))] == 6
    assert rows[("pdd/kpi_weekly", week, ("merged", "ods"))] == 2
    for shop in shops:
        assert rows[("pdd/badscore", str(raw_partition_key(days[2], shop)), ("raw",))] == 2
    assert rows[("pdd/badscore", str(raw_partition_key(days[1], "pdd_flagship")), ("raw",))] == 3
    reasons = {r["where"]: r["reason"] for r in report["not_adopted"]}
    assert "unreadable parquet" in reasons[f"ods/pdd/pdd_badscore/dt={days[3]}/merged_badscore_data.parquet"]
    assert "is not one of the pdd shops" in reasons[str(old / "pdd" / "评价文件存档" / days[1] / "闭店的店.xlsx")]
    assert "no period" in reasons[str(old / "pdd" / "合并文件" / "评价文件存档" / "合并说明.xlsx")]
    # on S3: the typed partitions, the merged workbooks, the shop files as raw partitions
    assert store.exists(f"ods/pdd/pdd_badscore/dt={days[2]}/part-00000.parquet")
    assert store.exists(f"merged/pdd/badscore/{days[0]}/pdd_badscore_{days[0]}.xlsx")
    assert store.exists(f"raw/pdd/badscore/{days[2]}/pdd_kids.xlsx")
    assert store.exists(f"adopted/ods/pdd/pdd_badscore/dt={days[0]}/merged_badscore_data.parquet")

    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(ods_key(badscore)) == set(days[:3])
        assert instance.get_materialized_partitions(merged_key(badscore)) == set(days[:3])
        after = dg.evaluate_automation_conditions(defs, instance, selection, cursor=before.cursor)
        for ds in catalog.platforms["pdd"].datasets.values():
            for key in (raw_key(ds), merged_key(ds), ods_key(ds)):
                assert after.get_requested_partitions(key) == set(), key
        # the schedules skip the adopted periods, and still request a period never collected
        for day in days[:3]:
            t = datetime.combine(period_from_key(badscore.cadence, day).start + timedelta(days=1),
                                 datetime.min.time().replace(hour=8, minute=30), tzinfo=SH)
            data = schedule_tick(defs, instance, "pdd__badscore__schedule", t)
            assert not data.run_requests and "every shop collected already" in data.skip_message
        t = datetime.combine(period_from_key(badscore.cadence, days[3]).start + timedelta(days=1),
                             datetime.min.time().replace(hour=8, minute=30), tzinfo=SH)
        assert len(schedule_tick(defs, instance, "pdd__badscore__schedule", t).run_requests) == len(shops)
        # nothing was started for any of it
        assert instance.get_run_records() == []
        # while a period collected from now on still flows on to its merge
        for shop in shops:
            instance.report_runless_asset_event(dg.AssetMaterialization(raw_key(badscore),
                                                                        partition=raw_partition_key(days[3], shop)))
        later = dg.evaluate_automation_conditions(defs, instance, selection, cursor=after.cursor)
        assert later.get_requested_partitions(merged_key(badscore)) == {days[3]}

    assert cli.main(["adopt", "--platforms", "pdd", "--old-files", str(old), "--apply", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["adopted"] == []
