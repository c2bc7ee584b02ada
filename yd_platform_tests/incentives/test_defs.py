"""The stage's definitions: assets in group "incentives", jobs and schedules at the seed times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.incentives.defs import build_defs, build_incentive_defs
from yd_platform.resources.core import core_resources

SH = ZoneInfo("Asia/Shanghai")


def _with_core(defs: dg.Definitions) -> dg.Definitions:
    return dg.Definitions.merge(defs, dg.Definitions(resources=core_resources()))


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
