"""The stage's definitions: assets in group "incentives", jobs and schedules at the seed times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.deployment_resources import resources_for
from yd_platform.incentives.defs import build_defs, build_incentive_defs

SH = ZoneInfo("Asia/Shanghai")


def _with_core(defs: dg.Definitions) -> dg.Definitions:
    return dg.Definitions.merge(defs, dg.Definitions(resources=resources_for()))


def test_assets_partitions_and_resource(catalog, yd_home):
    defs = _with_core(build_defs(catalog))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"incentives/contracts", "incentives/rewards", "incentives/reward_notices",
                    "incentives/sla_violations", "incentives/sla_weekly_report", "incentives/technician_status",
                    "incentives/daily_service_report"}
    notices = graph.get(dg.AssetKey(["incentives", "reward_notices"]))
    assert notices.group_name == "incentives"
    assert set(notices.partitions_def.partition_dimension_names) == {"month", "city"}
    weekly = graph.get(dg.AssetKey(["incentives", "sla_weekly_report"]))
    assert dg.AssetKey(["incentives", "sla_violations"]) in weekly.parent_keys
    robots = defs.resources["incentive_robots"]  # every robot the config names, by its variable
    assert set(robots.robots) == {"YD_INCENTIVES_WECOM_URL", "YD_SLA_WECOM_URL", "YD_OPS_WECOM_URL"}


def test_rewards_schedule_requests_the_current_month_for_every_city(cfg, instance, yd_home):
    defs = _with_core(build_incentive_defs(cfg))
    schedule = defs.resolve_schedule_def("incentives_rewards_schedule")
    when = datetime(2025, 6, 30, 22, 30, tzinfo=SH)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                   repository_def=defs.get_repository_def()) as ctx:
        data = schedule.evaluate_tick(ctx)
    assert sorted(r.partition_key for r in data.run_requests) == ["BJ|2025-06", "SH|2025-06"]


def test_first_day_of_a_month_also_pulls_the_previous_month(cfg, instance, yd_home):
    """Contracts signed after the last tick of a month (and its failed sends) are not lost."""
    defs = _with_core(build_incentive_defs(cfg))
    schedule = defs.resolve_schedule_def("incentives_rewards_schedule")
    cases = [(datetime(2025, 7, 1, 8, 0, tzinfo=SH), ["BJ|2025-06", "BJ|2025-07", "SH|2025-06", "SH|2025-07"]),
             (datetime(2025, 7, 2, 8, 0, tzinfo=SH), ["BJ|2025-07", "SH|2025-07"]),
             (datetime(2025, 5, 1, 8, 0, tzinfo=SH), ["BJ|2025-05", "SH|2025-05"])]  # start_month: no April
    for when, partitions in cases:
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       repository_def=defs.get_repository_def()) as ctx:
            data = schedule.evaluate_tick(ctx)
        assert sorted(r.partition_key for r in data.run_requests) == partitions, when
        assert len({r.run_key for r in data.run_requests}) == len(partitions)


def test_sla_schedules_request_yesterday_and_last_week(cfg, instance, yd_home):
    defs = _with_core(build_incentive_defs(cfg))
    repo = defs.get_repository_def()
    cases = [("incentives_sla_daily_schedule", datetime(2025, 9, 30, 9, 0, tzinfo=SH), "2025-09-29"),
             ("incentives_sla_weekly_schedule", datetime(2025, 9, 29, 9, 30, tzinfo=SH), "2025-09-22"),
             ("incentives_daily_service_report_schedule", datetime(2025, 9, 30, 11, 0, tzinfo=SH), "2025-09-29")]
    for name, when, partition in cases:
        schedule = defs.resolve_schedule_def(name)
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       repository_def=repo) as ctx:
            data = schedule.evaluate_tick(ctx)
        assert [r.partition_key for r in data.run_requests] == [partition], name


def test_technician_status_runs_every_three_minutes_and_report_at_eleven(cfg):
    defs = _with_core(build_incentive_defs(cfg))
    assert defs.resolve_schedule_def("incentives_technician_status_schedule").cron_schedule == "*/3 * * * *"
    assert defs.resolve_schedule_def("incentives_daily_service_report_schedule").cron_schedule == "0 11 * * *"


def test_award_notices_run_every_three_minutes_within_the_configured_hours(monkeypatch, yd_home):
    """As often as the old loop (every 3 min), in the hours incentives.yaml names; on by
    default in production."""
    from yd_platform.incentives.config import load_incentives_config

    cfg = load_incentives_config()
    assert (cfg.notices.every_minutes, cfg.notices.hours) == (3, "08-22")
    schedule = _with_core(build_incentive_defs(cfg)).resolve_schedule_def("incentives_rewards_schedule")
    assert schedule.cron_schedule == "*/3 8-22 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # embedded demo source: started by hand
    monkeypatch.setenv("YD_DEPLOYMENT", "production")
    # the production resources need production's variables; the schedule is read as built
    [live] = [s for s in build_incentive_defs(cfg).schedules if s.name == "incentives_rewards_schedule"]
    assert live.default_status == dg.DefaultScheduleStatus.RUNNING


def test_a_tick_outside_the_hours_requests_nothing(cfg, instance, yd_home):
    defs = _with_core(build_incentive_defs(cfg))
    schedule = defs.resolve_schedule_def("incentives_rewards_schedule")
    for when, runs in [(datetime(2025, 6, 30, 7, 57, tzinfo=SH), 0), (datetime(2025, 6, 30, 8, 0, tzinfo=SH), 2),
                       (datetime(2025, 6, 30, 22, 57, tzinfo=SH), 2), (datetime(2025, 6, 30, 23, 0, tzinfo=SH), 0)]:
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                       repository_def=defs.get_repository_def()) as ctx:
            data = schedule.evaluate_tick(ctx)
        assert len(data.run_requests or []) == runs, when
        if not runs:
            assert "outside the notice hours 08-22" in data.skip_message


def test_notice_frequency_and_hours_are_checked_when_the_config_loads():
    import pytest

    from yd_platform.incentives.config import IncentivesConfigError, parse_incentives
    from yd_platform_tests.incentives.helpers import TEST_CONFIG

    for bad, message in [("every_minutes: 7", "notices.every_minutes': must divide the hour evenly"),
                         ('hours: "22-08"', "notices.hours': must be 'first-last' hours")]:
        text = TEST_CONFIG.replace("  send_interval_seconds: 0\n", f"  send_interval_seconds: 0\n  {bad}\n")
        with pytest.raises(IncentivesConfigError, match=message):
            parse_incentives(text, source="test-incentives.yaml")


def test_shadow_mode_tags_the_scheduled_runs(cfg, instance, yd_home, monkeypatch):
    monkeypatch.setenv("YD_SHADOW_MODE", "true")
    defs = _with_core(build_incentive_defs(cfg))
    assert defs.resources["incentive_robots"].shadow is True
    schedule = defs.resolve_schedule_def("incentives_rewards_schedule")
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2025, 6, 30, 9, 0, tzinfo=SH),
                                   repository_def=defs.get_repository_def()) as ctx:
        data = schedule.evaluate_tick(ctx)
    assert {r.tags.get("yd/shadow_mode") for r in data.run_requests} == {"true"}
