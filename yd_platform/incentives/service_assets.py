"""The service assets of the old incentive system besides rewards and the SLA monitor: the
technician status check (every few minutes) and the daily service report (once a day)."""

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from yd_platform.incentives import metadata_tables, notices, service_report, store, technicians
from yd_platform.incentives.assets import GROUP, daily_partitions, pull_source
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.demo import HOUSEKEEPERS
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.enqueue import stored_key
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.metabase import MetabaseResource
from yd_platform.resources.object_store import ObjectStoreResource


def build_service_assets(cfg: IncentivesConfig, clock: Callable[[], float] = time.time) -> list[dg.AssetsDefinition]:
    def record_and_deliver(engine, items: list, kinds: list[str], robots: ChannelsResource):
        """Queue new notices (kept in order) and send every unsent one of `kinds`, earlier ones too."""
        new = notices.record(engine, items, clock())
        return new, notices.deliver(engine, robots, cfg, kinds, max_attempts=cfg.sla.max_attempts, clock=clock)

    @dg.asset(key_prefix=GROUP, group_name=GROUP, kinds={"parquet", "wecom"},
              description="Housekeepers going online or offline: each change told once to the "
                          "housekeeper's company and to the operations robot.")
    def technician_status(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                          app_db: AppDatabaseResource, incentives_metabase: MetabaseResource,
                          incentive_robots: ChannelsResource) -> dg.MaterializeResult:
        today = datetime.now(ZoneInfo(cfg.timezone)).date()
        people = [name for names in HOUSEKEEPERS.values() for name, _ in names]
        items, source = pull_source(
            incentives_metabase, cfg.technician_status.card, "incentives.yaml: field 'technician_status.card' is not set",
            [], technicians.changes_from_rows, "technician status",
            lambda: technicians.demo_changes(today, sorted(cfg.sla.providers), people))
        frame = pd.DataFrame([c.__dict__ for c in items], columns=list(technicians.StatusChange.__dataclass_fields__))
        uri = store.write_frame(object_store.client(), store.technician_status_key(), frame)
        engine = app_db.engine()
        new, delivery = record_and_deliver(engine, technicians.status_notices(items, cfg), [technicians.KIND],
                                           incentive_robots)
        table = metadata_tables.md_table(["管家", "公司", "时间", "变更"], [
            [c.technician, c.company, technicians.short_time(c.changed_at), c.content] for c in items])
        return notices.delivery_result(context, delivery, {
            "source": source, "changes": len(items), "uri": uri, "newly_recorded": new,
            "ops_channel_env": cfg.technician_status.url_env, "changes_table": dg.MetadataValue.md(table)},
            notices.waiting(engine, [technicians.KIND]))

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=daily_partitions(cfg),
              deps=[dg.AssetKey([GROUP, "sla_violations"])], kinds={"wecom"},
              description="The daily service report: a day's violations to each provider's group, "
                          "praise to every provider without any.")
    def daily_service_report(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                             app_db: AppDatabaseResource, incentive_robots: ChannelsResource) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        frame = store.read_frame(object_store.client(), store.violations_key(day.isoformat()))
        if frame is None:
            raise dg.Failure(f"sla_violations of {day} is not materialized yet")
        items = store.records(frame)
        pairs = service_report.report_notices(day, items, cfg.sla)
        engine = app_db.engine()
        new, delivery = record_and_deliver(engine, [n for _, n in pairs], [service_report.KIND], incentive_robots)
        status = notices.statuses(engine, [service_report.KIND], day.isoformat())
        counts = Counter(v["provider"] for v in items)
        sent: dict[str, list[str]] = defaultdict(list)
        for provider, message in pairs:
            sent[provider].append(status.get(stored_key(message.dedupe_key), ""))
        table = metadata_tables.md_table(["服务商", "群", "违规数", "通知"], [
            [p, cfg.sla.provider_group(p), counts[p], ", ".join(sent[p])]
            for p in sorted(sent, key=lambda p: (-counts[p], p))])
        return notices.delivery_result(context, delivery, {
            "violations": len(items), "reports": sum(1 for n in counts.values() if n),
            "praised": sum(1 for p in sent if not counts[p]), "newly_recorded": new,
            "per_provider": dg.MetadataValue.md(table)}, notices.waiting(engine, [service_report.KIND]))

    return [technician_status, daily_service_report]
