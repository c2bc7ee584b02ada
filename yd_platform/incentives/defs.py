"""Definitions of the incentives stage: the assets, their jobs and schedules, and the
resource only this stage uses: the notice robots (`incentive_robots`). Metabase is the
code location's `incentives_metabase` resource (`resources.metabase`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.deployment import PRODUCTION, current_deployment
from yd_platform.incentives.assets import GROUP, build_assets
from yd_platform.incentives.config import IncentivesConfig, load_incentives_config
from yd_platform.incentives.notices import ROBOTS, robots_resource
from yd_platform.incentives.service_assets import build_service_assets

REWARDS_JOB = "incentives_rewards_job"
SLA_DAILY_JOB = "incentives_sla_daily_job"
SLA_WEEKLY_JOB = "incentives_sla_weekly_job"
TECHNICIAN_STATUS_JOB = "incentives_technician_status_job"
SERVICE_REPORT_JOB = "incentives_daily_service_report_job"


def _asset(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


def tick_months(when: datetime, start_month: str) -> list[str]:
    """The months a tick pulls: the current one, and on the first day of a month the
    previous one too, so contracts signed after its last tick are still announced and
    its failed sends are retried."""
    months = [when.strftime("%Y-%m")]
    if when.day == 1:
        months.insert(0, (when.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"))
    return [m for m in months if m >= start_month]


SHADOW_TAG = "yd/shadow_mode"


def build_rewards_schedule(cfg: IncentivesConfig, job: dg.UnresolvedAssetJobDefinition, *, shadow: bool = False,
                           running: bool = True) -> dg.ScheduleDefinition:
    """Every `notices.every_minutes` within `notices.hours`, pull the current month for every
    city and announce new awards. A tick evaluated outside the hours (a test tick from the
    UI, say) requests nothing. In shadow mode the runs carry the tag `yd/shadow_mode`."""
    notices = cfg.notices

    @dg.schedule(name="incentives_rewards_schedule", cron_schedule=notices.cron, job=job,
                 execution_timezone=cfg.timezone,
                 default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
                 description=f"Every {notices.every_minutes} min, {notices.hours} h ({cfg.timezone}): "
                             "new contracts, rewards and award notices of the current month.")
    def _schedule(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time.astimezone(ZoneInfo(cfg.timezone))
        if not notices.in_hours(when.hour):
            return dg.SkipReason(f"{when:%H:%M} is outside the notice hours {notices.hours} (incentives.yaml "
                                 "notices.hours): nothing is announced at this time")
        months = tick_months(when, cfg.start_month)
        if not months:
            return dg.SkipReason(f"campaigns start in {cfg.start_month}")
        tags = {SHADOW_TAG: "true"} if shadow else {}
        return [dg.RunRequest(run_key=f"{month}|{city}|{when.isoformat()}", tags=tags,
                              partition_key=dg.MultiPartitionKey({"month": month, "city": city}))
                for month in months for city in cfg.cities]

    return _schedule


def build_incentive_defs(cfg: IncentivesConfig) -> dg.Definitions:
    assets = build_assets(cfg) + build_service_assets(cfg)
    robots = robots_resource(cfg)
    # frequent schedules run in production (against its Metabase); on the embedded default's
    # demo source they would only keep the machine busy (start them in the UI to watch them work)
    live = current_deployment() == PRODUCTION
    rewards_job = dg.define_asset_job(
        REWARDS_JOB, selection=[_asset("contracts"), _asset("rewards"), _asset("reward_notices")],
        description="Pull a city's month of contracts, compute rewards, announce new awards.")
    daily_job = dg.define_asset_job(SLA_DAILY_JOB, selection=[_asset("sla_violations")],
                                    description="A day's SLA violations and their notices.")
    weekly_job = dg.define_asset_job(SLA_WEEKLY_JOB, selection=[_asset("sla_weekly_report")],
                                     description="The weekly SLA report and praise.")
    technician_job = dg.define_asset_job(TECHNICIAN_STATUS_JOB, selection=[_asset("technician_status")],
                                         description="Tell housekeepers' online/offline changes.")
    report_job = dg.define_asset_job(SERVICE_REPORT_JOB, selection=[_asset("daily_service_report")],
                                     description="Yesterday's service report to every provider.")
    daily_cron = cfg.sla.daily_schedule.split()
    weekly_cron = cfg.sla.weekly_schedule.split()
    report_cron = cfg.service_report.schedule.split()
    schedules = [
        build_rewards_schedule(cfg, rewards_job, shadow=robots.shadow, running=live),
        dg.build_schedule_from_partitioned_job(
            daily_job, name="incentives_sla_daily_schedule", minute_of_hour=int(daily_cron[0]),
            hour_of_day=int(daily_cron[1]), default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.build_schedule_from_partitioned_job(
            weekly_job, name="incentives_sla_weekly_schedule", minute_of_hour=int(weekly_cron[0]),
            hour_of_day=int(weekly_cron[1]), day_of_week=int(weekly_cron[4]),
            default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.ScheduleDefinition(name="incentives_technician_status_schedule", job=technician_job,
                              cron_schedule=cfg.technician_status.schedule, execution_timezone=cfg.timezone,
                              default_status=dg.DefaultScheduleStatus.RUNNING if live
                              else dg.DefaultScheduleStatus.STOPPED),
        dg.build_schedule_from_partitioned_job(
            report_job, name="incentives_daily_service_report_schedule", minute_of_hour=int(report_cron[0]),
            hour_of_day=int(report_cron[1]), default_status=dg.DefaultScheduleStatus.RUNNING),
    ]
    jobs = [rewards_job, daily_job, weekly_job, technician_job, report_job]
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules,
                          resources={ROBOTS: robots})


def build_defs(catalog: Catalog) -> dg.Definitions:
    return build_incentive_defs(load_incentives_config())
