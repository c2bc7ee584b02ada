"""Definitions of the pms stage: per service one asset (`pms/<service>`), one job named
after the service, one schedule at its time in Asia/Shanghai, and for services that raise
alerts an asset check failing while CRITICAL/URGENT alerts of its rules are open.

Reports and snapshots are daily-partitioned (the monthly labour cost monthly), so a day can
be re-run or backfilled from the UI; the others act on the state at their tick. Each
service has its own pool (`pms_<service>`): with the instance's default pool limit of 1,
two runs of one service never overlap (the old scheduler's max_instances = 1).
"""


from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from yd_platform.catalog import Catalog
from yd_platform.deployment import PRODUCTION, current_deployment
from yd_platform.outbox.channel_config import load_outbox_config
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.pms import schema as t
from yd_platform.pms.config import PmsConfig, Service, load_pms_config
from yd_platform.pms.context import OPEN_STATUSES
from yd_platform.pms.delivery import OutboxLink
from yd_platform.pms.runner import local_now, run_service
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.pms_db import PmsDatabaseResource

GROUP = "pms"
CHECK_NAME = "open_critical_alerts"
PARTITION_START = "2026-01-01"


class PmsRunConfig(dg.Config):
    now: str = Field(default="", description="Run as of this ISO date-time (Asia/Shanghai); empty: the tick or now")


def partitions_for(svc: Service, tz: str) -> dg.PartitionsDefinition | None:
    cron = svc.cron.split()
    if svc.partition == "monthly":
        return dg.MonthlyPartitionsDefinition(start_date=PARTITION_START, minute_offset=int(cron[0]),
                                              hour_offset=int(cron[1]), timezone=tz)
    if svc.partition in ("daily", "today"):
        return dg.DailyPartitionsDefinition(start_date=PARTITION_START, minute_offset=int(cron[0]), hour_offset=int(cron[1]),
                                            timezone=tz, end_offset=1 if svc.partition == "today" else 0)
    return None


def as_of(svc: Service, context: dg.AssetExecutionContext, config: PmsRunConfig, tz: str) -> datetime:
    """The service's "now": the run config's, else for a partition the time of the tick that
    covers it, else the schedule tick's time, else the wall clock."""
    if config.now:
        return local_now(config.now, tz)
    cron = svc.cron.split()
    if context.has_partition_key:
        day = datetime.fromisoformat(context.partition_key[:10])
        shift = {"daily": timedelta(days=1), "today": timedelta(0)}.get(svc.partition)
        tick = day + shift if shift is not None else (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return tick.replace(hour=int(cron[1]), minute=int(cron[0]))
    scheduled = context.run.tags.get("dagster/scheduled_execution_time")
    return local_now(scheduled or None, tz)


def open_critical(engine: sa.Engine, rule_codes: list[str]) -> dict[str, list[str]]:
    a, r = t.alert_records.c, t.alert_rules.c
    found: dict[str, list[str]] = {"URGENT": [], "CRITICAL": []}
    with engine.connect() as conn:
        for level, no in conn.execute(sa.select(a.alert_level, a.alert_no).join(t.alert_rules, r.id == a.rule_id).where(
                r.rule_code.in_(rule_codes) & a.status.in_(OPEN_STATUSES) & a.alert_level.in_(tuple(found)))
                .order_by(a.triggered_at)):
            found[level].append(no)
    return found


def check_result(svc: Service, engine: sa.Engine) -> dg.AssetCheckResult:
    found = open_critical(engine, svc.rule_codes)
    severity = dg.AssetCheckSeverity.ERROR if found["URGENT"] else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=CHECK_NAME, passed=not (found["URGENT"] or found["CRITICAL"]), severity=severity,
        description=f"open URGENT {len(found['URGENT'])}, CRITICAL {len(found['CRITICAL'])} ({', '.join(svc.rule_codes)})",
        metadata={"open_urgent": len(found["URGENT"]), "open_critical": len(found["CRITICAL"]),
                  "oldest": ", ".join((found["URGENT"] + found["CRITICAL"])[:10])})


def build_service_asset(svc: Service, cfg: PmsConfig) -> dg.AssetsDefinition:
    key = dg.AssetKey([GROUP, svc.id])
    checks = [dg.AssetCheckSpec(CHECK_NAME, asset=key, description="No CRITICAL/URGENT alert of this service's rules is open")] \
        if svc.rules else []
    retry = dg.RetryPolicy(max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL) if svc.sla.retry_on_failure else None

    @dg.asset(key=key, group_name=GROUP, partitions_def=partitions_for(svc, cfg.timezone), check_specs=checks,
              retry_policy=retry, pool=f"pms_{svc.id}", kinds={"sql"}, owners=[f"team:{svc.owner.lower().replace(' ', '-')}"],
              description=f"{svc.name} ({svc.category}, risk {svc.risk}): {svc.cron} {cfg.timezone}",
              metadata={"tables": ", ".join(svc.tables), "risk_level": svc.risk,
                        "sla_seconds": svc.sla.max_execution_time_seconds, "cron": svc.cron},
              tags={"pms/category": svc.category, "pms/risk": svc.risk})
    def _service(context: dg.AssetExecutionContext, config: PmsRunConfig, pms_db: PmsDatabaseResource,
                 app_db: AppDatabaseResource, alert_channels: ChannelsResource):
        engine = t.pms_engine(pms_db.url)
        outbox = OutboxLink(app_db.engine(), load_outbox_config(), alert_channels)
        summary = run_service(svc.id, engine, now=as_of(svc, context, config, cfg.timezone),
                              partition=context.partition_key if context.has_partition_key else None,
                              outbox=outbox, config=cfg, emit=context.log.info)
        yield dg.MaterializeResult(metadata={
            "alerts_created": summary["alerts_created"], "alerts_escalated": summary["alerts_escalated"],
            "rows_written": dg.MetadataValue.json(summary["rows_written"]),
            "result": dg.MetadataValue.json(summary["result"]), "skipped": dg.MetadataValue.json(summary["skipped"]),
            "as_of": summary["now"],
            "duration_ms": summary["duration_ms"], "sla_breached": summary["sla_breached"], "shadow_mode": alert_channels.shadow})
        if svc.rules:
            yield check_result(svc, engine)

    return _service


def build_schedule(svc: Service, job, cfg: PmsConfig, running: bool) -> dg.ScheduleDefinition:
    status = dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    if svc.partition:
        return dg.build_schedule_from_partitioned_job(job, name=f"{svc.id}_schedule", default_status=status)
    return dg.ScheduleDefinition(name=f"{svc.id}_schedule", cron_schedule=svc.cron, job=job,
                                 execution_timezone=cfg.timezone, default_status=status)


def build_pms_defs(cfg: PmsConfig | None = None, resources: dict | None = None) -> dg.Definitions:
    """Schedules start running by default in production (YD_DEPLOYMENT=production, against the
    real PMS database); on the embedded default's demo database they are there but stopped. The code location provides
    `pms_db`, `app_db` and `alert_channels` (`resources.resources_for`); `resources` gives
    them to these definitions alone (tests)."""
    cfg = cfg or load_pms_config()
    running = current_deployment() == PRODUCTION
    assets, jobs, schedules = [], [], []
    for svc in cfg.services:
        asset = build_service_asset(svc, cfg)
        job = dg.define_asset_job(svc.id, selection=dg.AssetSelection.assets(asset), description=svc.name,
                                  tags={"pms/service": svc.id})
        assets.append(asset)
        jobs.append(job)
        schedules.append(build_schedule(svc, job, cfg, running))
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules, resources=resources or {})


def build_defs(catalog: Catalog) -> dg.Definitions:
    return build_pms_defs()
