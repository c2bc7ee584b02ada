"""`yd-platform plan` must say exactly what the schedules request."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.cli.main import main
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.definitions import build_definitions
from yd_platform.deployment_resources import resources_for
from yd_platform.resources.shops import ShopSourceResource


def _plan_lines(capsys, *args):
    assert main(["plan", *args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_daily_plan_json(yd_home, capsys):
    lines = _plan_lines(capsys, "--schedule", "daily", "--date", "2025-10-02", "--platforms", "pdd", "tm")
    got = {(r["platform"], r["dataset"]): (r["partition"], r["period"]) for r in lines}
    assert got == {
        ("pdd", "badscore"): ("2025-10-01", "2025-10-01"),
        ("pdd", "quality"): ("2025-10-02", "2025-10-02"),
        ("pdd", "kpi_days"): ("2025-09-29", "2025-09-29"),
        ("tm", "badscore"): ("2025-10-01", "2025-10-01"),
        ("tm", "chat"): ("2025-10-01", "2025-10-01"),
        ("tm", "kpi_self"): ("2025-09-28", "2025-09-28"),
        ("tm", "kpi_official"): ("2025-09-28", "2025-09-28"),
    }
    assert lines[0]["shops"] == ["pdd_flagship", "pdd_kids", "pdd_outlet"]


def test_weekly_and_monthly_periods_use_the_seed_formats(yd_home, capsys):
    weekly = _plan_lines(capsys, "--schedule", "weekly", "--date", "2025-10-04")
    assert {(r["platform"], r["partition"], r["period"]) for r in weekly} == {
        ("pdd", "2025-09-25", "2025-09-25_2025-10-01")}
    assert _plan_lines(capsys, "--schedule", "weekly", "--date", "2025-10-03") == []
    monthly = _plan_lines(capsys, "--schedule", "monthly", "--date", "2025-01-03")
    assert {r["period"] for r in monthly} == {"2024-12"}


def test_plan_agrees_with_schedule_ticks(yd_home, capsys, catalog):
    """For every dataset ticking on a day, plan == what the schedule requests."""
    defs = build_definitions(catalog)
    day = "2025-11-01"  # a Saturday: daily and weekly datasets tick
    lines = _plan_lines(capsys, "--date", day)
    assert {r["cadence"] for r in lines} == {"daily", "weekly"}
    with dg.instance_for_test() as instance:
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
        for line in lines:
            ds = catalog.dataset(line["platform"], line["dataset"])
            schedule = defs.resolve_schedule_def(f"{ds.slug}__schedule")
            hour, minute = int(ds.cron.split()[1]), int(ds.cron.split()[0])
            when = datetime(2025, 11, 1, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))
            with dg.build_schedule_context(
                instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def(),
                resources=resources_for(),
            ) as ctx:
                requests = schedule.evaluate_tick(ctx).run_requests
            assert sorted(r.partition_key for r in requests) == sorted(
                f"{line['partition']}|{shop}" for shop in line["shops"])


def test_bad_arguments_are_reported(yd_home, capsys):
    assert main(["plan", "--platforms", "taobao"]) == 1
    assert "unknown platforms ['taobao']" in capsys.readouterr().err


def test_today_is_the_shanghai_date(yd_home, capsys, catalog):
    from datetime import date

    from yd_platform.pipeline.plan import platform_today

    # 17:00 UTC on 10-01 is 01:00 on 10-02 in Shanghai: day T is 10-02
    assert platform_today(catalog, datetime(2025, 10, 1, 17, 0, tzinfo=UTC)) == date(2025, 10, 2)
    shanghai_today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert main(["plan", "--schedule", "daily"]) == 0
    assert f"Plan for T = {shanghai_today}" in capsys.readouterr().out


def test_each_request_carries_its_tick(yd_home, capsys):
    """The tick is when the dataset's schedule fires that day, with the timezone's offset."""
    lines = _plan_lines(capsys, "--schedule", "daily", "--date", "2025-10-02", "--platforms", "pdd", "erp")
    ticks = {(r["platform"], r["dataset"]): r["tick"] for r in lines}
    assert ticks[("pdd", "badscore")] == "2025-10-02T08:30:00+08:00"
    assert ticks[("pdd", "quality")] == "2025-10-02T08:00:00+08:00"
    assert ticks[("erp", "goodscount")] == "2025-10-02T07:00:00+08:00"
    assert all(datetime.fromisoformat(t).utcoffset().total_seconds() == 8 * 3600 for t in ticks.values())

    assert main(["plan", "--schedule", "daily", "--date", "2025-10-02", "--platforms", "pdd", "erp"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:3] == ["tick", "dataset", "name"]
    assert [line.split()[:2] for line in table[2:4]] == [["07:00", "erp/goodscount"], ["07:00", "erp/goodsbom"]]
