"""Definitions of the incentives stage: the assets, their jobs and schedules, and the
Metabase resource only this stage uses."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.incentives.assets import GROUP, build_assets
from yd_platform.incentives.config import IncentivesConfig, load_incentives_config
from yd_platform.incentives.metabase import MetabaseResource
from yd_platform.incentives.service_assets import build_service_assets
from yd_platform.settings import env

REWARDS_JOB = "incentives_rewards_job"
SLA_DAILY_JOB = "incentives_sla_daily_job"
SLA_WEEKLY_JOB = "incentives_sla_weekly_job"
TECHNICIAN_STATUS_JOB = "incentives_technician_status_job"
SERVICE_REPORT_JOB = "incentives_daily_service_report_job"


def metabase_from_env() -> MetabaseResource:
    """Metabase when YD_METABASE_URL is set; otherwise the demo source (empty url)."""
    if not env("YD_METABASE_URL"):
        return MetabaseResource()
    return MetabaseResource(
        url=dg.EnvVar("YD_METABASE_URL"),
        api_key=dg.EnvVar("YD_METABASE_API_KEY") if env("YD_METABASE_API_KEY") else "",
        username=env("YD_METABASE_USER") or "",
        password=dg.EnvVar("YD_METABASE_PASSWORD") if env("YD_METABASE_PASSWORD") else "",
    )


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


def build_rewards_schedule(cfg: IncentivesConfig, job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Every tick pulls the current month for every city and announces new awards."""

    @dg.schedule(name="incentives_rewards_schedule", cron_schedule=cfg.notices.schedule, job=job,
                 execution_timezone=cfg.timezone, default_status=dg.DefaultScheduleStatus.RUNNING)
    def _schedule(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time.astimezone(ZoneInfo(cfg.timezone))
        months = tick_months(when, cfg.start_month)
        if not months:
            return dg.SkipReason(f"campaigns start in {cfg.start_month}")
        return [dg.RunRequest(run_key=f"{month}|{city}|{when.isoformat()}",
                              partition_key=dg.MultiPartitionKey({"month": month, "city": city}))
                for month in months for city in cfg.cities]

    return _schedule


def build_incentive_defs(cfg: IncentivesConfig) -> dg.Definitions:
    assets = build_assets(cfg) + build_service_assets(cfg)
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
        build_rewards_schedule(cfg, rewards_job),
        dg.build_schedule_from_partitioned_job(
            daily_job, name="incentives_sla_daily_schedule", minute_of_hour=int(daily_cron[0]),
            hour_of_day=int(daily_cron[1]), default_status=dg.DefaultScheduleStatus.RUNNING),
        dg.build_schedule_from_partitioned_job(
            weekly_job, name="incentives_sla_weekly_schedule", minute_of_hour=int(weekly_cron[0]),
            hour_of_day=int(weekly_cron[1]), day_of_week=int(weekly_cron[4]),
            default_status=dg.DefaultScheduleStatus.RUNNING),
        # every few minutes: on against a real Metabase, off over the demo source, where it
        # would only keep the embedded machine busy (start it in the UI to watch it work)
        dg.ScheduleDefinition(name="incentives_technician_status_schedule", job=technician_job,
                              cron_schedule=cfg.technician_status.schedule, execution_timezone=cfg.timezone,
                              default_status=dg.DefaultScheduleStatus.RUNNING if env("YD_METABASE_URL")
                              else dg.DefaultScheduleStatus.STOPPED),
        dg.build_schedule_from_partitioned_job(
            report_job, name="incentives_daily_service_report_schedule", minute_of_hour=int(report_cron[0]),
            hour_of_day=int(report_cron[1]), default_status=dg.DefaultScheduleStatus.RUNNING),
    ]
    jobs = [rewards_job, daily_job, weekly_job, technician_job, report_job]
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules,
                          resources={"incentives_metabase": metabase_from_env()})


def build_defs(catalog: Catalog) -> dg.Definitions:
    return build_incentive_defs(load_incentives_config())
