"""The service assets of the old incentive system besides rewards and the SLA monitor: the
technician status check (every few minutes) and the daily service report (once a day)."""

from collections import Counter, defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from yd_platform.incentives import ledger, reports, service_report, store, technicians
from yd_platform.incentives.assets import GROUP, daily_partitions, delivery_result, pull_source
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.demo import HOUSEKEEPERS
from yd_platform.incentives.metabase import MetabaseResource
from yd_platform.incentives.sender import deliver
from yd_platform.resources.app_db import AppDatabaseResource, fit_key
from yd_platform.resources.object_store import ObjectStoreResource


def _record_and_deliver(engine, notices: list[ledger.Notice], kinds: list[str], cfg: IncentivesConfig):
    """Record new notices (kept in order) and send every unsent one of `kinds`, earlier ones too."""
    ledger.ensure_tables(engine)
    with engine.begin() as conn:
        new = ledger.record_pending(conn, notices)
    delivery = deliver(engine, kinds, None, max_attempts=cfg.sla.max_attempts,
                       interval_seconds=cfg.notices.send_interval_seconds)
    return new, delivery


def build_service_assets(cfg: IncentivesConfig) -> list[dg.AssetsDefinition]:
    @dg.asset(key_prefix=GROUP, group_name=GROUP, kinds={"parquet", "wecom"},
              description="Housekeepers going online or offline: each change told once to the "
                          "housekeeper's company and to the operations robot.")
    def technician_status(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                          app_db: AppDatabaseResource, incentives_metabase: MetabaseResource) -> dg.MaterializeResult:
        today = datetime.now(ZoneInfo(cfg.timezone)).date()
        people = [name for names in HOUSEKEEPERS.values() for name, _ in names]
        items, source = pull_source(
            incentives_metabase, cfg.technician_status.card, "incentives.yaml: field 'technician_status.card' is not set",
            [], technicians.changes_from_rows, "technician status",
            lambda: technicians.demo_changes(today, sorted(cfg.sla.providers), people))
        frame = pd.DataFrame([c.__dict__ for c in items], columns=list(technicians.StatusChange.__dataclass_fields__))
        uri = store.write_frame(object_store.client(), store.technician_status_key(), frame)
        new, delivery = _record_and_deliver(app_db.engine(), technicians.status_notices(items, cfg),
                                            [technicians.KIND], cfg)
        table = reports.md_table(["管家", "公司", "时间", "变更"], [
            [c.technician, c.company, technicians.short_time(c.changed_at), c.content] for c in items])
        return delivery_result(context, delivery, {
            "source": source, "changes": len(items), "uri": uri, "newly_recorded": new,
            "ops_channel_env": cfg.technician_status.url_env, "changes_table": dg.MetadataValue.md(table)})

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=daily_partitions(cfg),
              deps=[dg.AssetKey([GROUP, "sla_violations"])], kinds={"wecom"},
              description="The daily service report: a day's violations to each provider's group, "
                          "praise to every provider without any.")
    def daily_service_report(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                             app_db: AppDatabaseResource) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        frame = store.read_frame(object_store.client(), store.violations_key(day.isoformat()))
        if frame is None:
            raise dg.Failure(f"sla_violations of {day} is not materialized yet")
        items = store.records(frame)
        pairs = service_report.report_notices(day, items, cfg.sla)
        engine = app_db.engine()
        new, delivery = _record_and_deliver(engine, [n for _, n in pairs], [service_report.KIND], cfg)
        status = ledger.statuses(engine, [service_report.KIND], day.isoformat())
        counts = Counter(v["provider"] for v in items)
        sent: dict[str, list[str]] = defaultdict(list)
        for provider, notice in pairs:
            sent[provider].append(status.get(fit_key(notice.notice_id), ""))
        table = reports.md_table(["服务商", "群", "违规数", "通知"], [
            [p, cfg.sla.provider_group(p), counts[p], ", ".join(sent[p])]
            for p in sorted(sent, key=lambda p: (-counts[p], p))])
        return delivery_result(context, delivery, {
            "violations": len(items), "reports": sum(1 for n in counts.values() if n),
            "praised": sum(1 for p in sent if not counts[p]), "newly_recorded": new,
            "per_provider": dg.MetadataValue.md(table)})

    return [technician_status, daily_service_report]
