"""The incentive assets: contracts -> rewards -> reward_notices per month x city, and the
SLA monitor's sla_violations (daily) -> sla_weekly_report (weekly).

Notices go through the platform outbox (`incentives.notices`); `clock` (the time notices
are queued and sent at) is injectable for tests.
"""

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import dagster as dg
import pandas as pd

from yd_platform.incentives import metadata_tables, notices, sla, store
from yd_platform.incentives.columns import SourceRowError, contracts_from_rows, violations_from_rows
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.demo import demo_contracts, demo_violations
from yd_platform.incentives.messages import render_notice
from yd_platform.incentives.rules import Award, Contract, ContractResult, compute_rewards
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.tables import SENT
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.metabase import MetabaseError, MetabaseResource, template_parameter
from yd_platform.resources.object_store import ObjectStoreResource

GROUP = "incentives"
REWARD_KINDS = [notices.REWARD]
RULES_CHECK = "rules_configured"


def month_city_partitions(cfg: IncentivesConfig) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition({
        "month": dg.MonthlyPartitionsDefinition(start_date=cfg.start_month, fmt="%Y-%m",
                                                timezone=cfg.timezone, end_offset=1),
        "city": dg.StaticPartitionsDefinition(list(cfg.cities)),
    })


def daily_partitions(cfg: IncentivesConfig) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=cfg.sla.start_date.isoformat(), timezone=cfg.timezone)


def weekly_partitions(cfg: IncentivesConfig) -> dg.WeeklyPartitionsDefinition:
    start = cfg.sla.start_date
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    return dg.WeeklyPartitionsDefinition(start_date=monday.isoformat(), timezone=cfg.timezone, day_offset=1)


def _month_city(context: dg.AssetExecutionContext) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension  # type: ignore[attr-defined]
    return keys["month"], keys["city"]


def pull_source(metabase: MetabaseResource, card: int | None, unset: str, parameters: list[dict],
          parse: Callable[[list[dict], str], list], what: str, demo: Callable[[], list]) -> tuple[list, str]:
    """A source's items and their label: card `card` through `parse` when Metabase is
    configured (`unset` fails the run without a card), else the demo set. Errors of the
    pull or of its rows fail the run with their message."""
    if not metabase.enabled:
        return demo(), "demo"
    if card is None:
        raise dg.Failure(unset)
    try:
        items = parse(metabase.query_card(card, parameters), f"Metabase card {card} ({what})")
    except (MetabaseError, SourceRowError) as exc:
        raise dg.Failure(str(exc)) from None
    return items, f"metabase card {card}"


def _per_provider(violations: Iterable[dict], providers: Iterable[str]) -> dict[str, int]:
    """Violations per provider, with 0 for each configured provider that had none, so the
    report lists (and praises) those too."""
    counts = Counter(v["provider"] for v in violations)
    counts.update({p: 0 for p in providers if p not in counts})
    return dict(counts)


def build_assets(cfg: IncentivesConfig, clock: Callable[[], float] = time.time) -> list[dg.AssetsDefinition]:
    month_city = month_city_partitions(cfg)

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=month_city, kinds={"parquet"},
              description="Signed contracts of a city's month: a Metabase card in production, "
                          "a deterministic demo set on the embedded default.")
    def contracts(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                  incentives_metabase: MetabaseResource) -> dg.MaterializeResult:
        month, city = _month_city(context)
        city_cfg = cfg.cities[city]
        items, source = pull_source(
            incentives_metabase, cfg.contracts_card(city, month),
            f"incentives.yaml: city {city!r}: contracts_card is not set (nor for month {month!r})",
            [template_parameter("month", month), template_parameter("province", city_cfg.province)],
            contracts_from_rows, f"{city} {month}", lambda: demo_contracts(city, month))
        frame = pd.DataFrame([c.__dict__ for c in items], columns=list(Contract.__dataclass_fields__))
        uri = store.write_frame(object_store.client(), store.contracts_key(month, city), frame)
        return dg.MaterializeResult(metadata={
            "source": source, "contracts": len(items), "uri": uri,
            "total_amount": float(frame["amount"].sum()) if len(frame) else 0.0,
            "dagster/row_count": len(items)})

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=month_city, deps=[contracts],
              kinds={"parquet"},
              check_specs=[dg.AssetCheckSpec(RULES_CHECK, asset=dg.AssetKey([GROUP, "rewards"]),
                                             description="A month with contracts has reward rules "
                                                         "(otherwise nobody is rewarded for them).")],
              description="Rewards by the month's rules: lucky numbers, tiers by amount and count "
                          "(reaching a tier awards the highest new one, then the skipped lower ones), "
                          "per-contract and per-work-order caps, distance to the next tier.")
    def rewards(context: dg.AssetExecutionContext, object_store: ObjectStoreResource) -> dg.MaterializeResult:
        month, city = _month_city(context)
        client = object_store.client()
        frame = store.read_frame(client, store.contracts_key(month, city))
        if frame is None:
            raise dg.Failure(f"contracts of {city} {month} are not materialized yet")
        rules = cfg.rule_set(city, month)
        if rules is None:
            results, awards = [], []
            context.log.info(f"incentives.yaml has no reward rules for city {city!r}, month {month!r}")
        else:
            contracts_list = [Contract(**r) for r in store.records(frame)]
            results, awards = compute_rewards(contracts_list, rules, city, month)
        store.write_frame(client, store.rewards_key(month, city), pd.DataFrame(
            [r.__dict__ for r in results], columns=list(ContractResult.__dataclass_fields__)))
        uri = store.write_frame(client, store.awards_key(month, city), pd.DataFrame(
            [a.__dict__ for a in awards], columns=list(Award.__dataclass_fields__)))
        check = dg.AssetCheckResult(
            check_name=RULES_CHECK, passed=rules is not None or frame.empty,
            severity=dg.AssetCheckSeverity.WARN,
            description=None if rules is not None or frame.empty else
            f"{len(frame)} contract(s) of {city} {month} but incentives.yaml has no rules for this city and month",
            metadata={"contracts": len(frame), "rules": "configured" if rules else "none"})
        return dg.MaterializeResult(check_results=[check], metadata={
            "rules": "configured" if rules else "none for this city and month",
            "awards": len(awards), "reward_total_yuan": float(sum(a.reward for a in awards)),
            "uri": uri, "rewards_per_person": dg.MetadataValue.md(metadata_tables.rewards_per_person(results)),
        })

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=month_city, deps=[rewards],
              kinds={"wecom"},
              description="One WeCom message per new award, exactly once: queued in the outbox under the "
                          "award's key, sent by this run, failed sends retried by the next runs.")
    def reward_notices(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                       app_db: AppDatabaseResource, incentive_robots: ChannelsResource) -> dg.MaterializeResult:
        month, city = _month_city(context)
        frame = store.read_frame(object_store.client(), store.awards_key(month, city))
        if frame is None:
            raise dg.Failure(f"rewards of {city} {month} are not materialized yet")
        awards = [Award(**r) for r in store.records(frame)]
        rules = cfg.rule_set(city, month)
        partition = f"{month}|{city}"
        engine = app_db.engine()
        new = notices.record(engine, [notices.notice(
            notices.award_notice_key(a), notices.REWARD, partition, cfg.notices.url_env,
            render_notice(a, rules, cfg.notices), cfg.notices.msgtype) for a in awards], clock())
        delivery = notices.deliver(engine, incentive_robots, cfg, REWARD_KINDS, partition,
                                   max_attempts=cfg.notices.max_attempts, clock=clock)
        status = notices.statuses(engine, REWARD_KINDS, partition)
        table = metadata_tables.md_table(["人员", "合同", "奖励", "金额(元)", "通知"], [
            [a.person, a.contract_no, a.reward_name, a.reward, status.get(notices.key_of(a), "")] for a in awards])
        return notices.delivery_result(context, delivery, {
            "awards": len(awards), "newly_recorded": new,
            "already_sent": sum(1 for s in status.values() if s == SENT) - delivery.sent,
            "channel_env": cfg.notices.url_env, "notices": dg.MetadataValue.md(table)},
            notices.waiting(engine, REWARD_KINDS, partition))

    daily = daily_partitions(cfg)

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=daily, kinds={"parquet", "wecom"},
              description="A day's SLA violations per service provider, and one notice per provider "
                          "for violations not announced before (earlier days' failed sends retried).")
    def sla_violations(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                       app_db: AppDatabaseResource, incentives_metabase: MetabaseResource,
                       incentive_robots: ChannelsResource) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        items, source = pull_source(
            incentives_metabase, cfg.sla.violations_card, "incentives.yaml: field 'sla.violations_card' is not set",
            [template_parameter("date", day.isoformat())], violations_from_rows, str(day),
            lambda: demo_violations(day, sorted(cfg.sla.providers)))
        frame = pd.DataFrame(items, columns=["violation_id", "provider", "order_no", "created_at",
                                             "housekeeper", "kind", "memo"])
        uri = store.write_frame(object_store.client(), store.violations_key(day.isoformat()), frame)
        engine = app_db.engine()
        new = sla.record_daily(engine, day, items, cfg.sla, clock())
        # every day's unsent notices, not only this day's: the schedule never reruns a past day
        delivery = notices.deliver(engine, incentive_robots, cfg, sla.DAILY_KINDS,
                                   max_attempts=cfg.sla.max_attempts, clock=clock)
        per_provider = metadata_tables.sla_per_provider(_per_provider(items, cfg.sla.providers))
        return notices.delivery_result(context, delivery, {
            "source": source, "violations": len(items), "uri": uri, "newly_recorded": new,
            "dagster/row_count": len(items), "per_provider": dg.MetadataValue.md(per_provider)},
            notices.waiting(engine, sla.DAILY_KINDS))

    @dg.asset(key_prefix=GROUP, group_name=GROUP, partitions_def=weekly_partitions(cfg), deps=[sla_violations],
              kinds={"wecom"},
              description="The weekly SLA report (Monday to Sunday) to providers with violations, "
                          "praise to those without (earlier weeks' failed sends retried).")
    def sla_weekly_report(context: dg.AssetExecutionContext, object_store: ObjectStoreResource,
                          app_db: AppDatabaseResource, incentive_robots: ChannelsResource) -> dg.MaterializeResult:
        week_start = date.fromisoformat(context.partition_key)
        client = object_store.client()
        days = [week_start + timedelta(days=i) for i in range(7)]
        frames = {d: store.read_frame(client, store.violations_key(d.isoformat())) for d in days}
        missing = [d.isoformat() for d, f in frames.items() if f is None]
        if missing:
            raise dg.Failure(f"sla_violations is missing for {', '.join(missing)}; materialize those days first "
                             "so no provider is praised for a week not fully seen")
        items = [r for f in frames.values() for r in store.records(f)]
        engine = app_db.engine()
        new = notices.record(engine, sla.weekly_notices(week_start, items, cfg.sla), clock())
        delivery = notices.deliver(engine, incentive_robots, cfg, sla.WEEKLY_KINDS,
                                   max_attempts=cfg.sla.max_attempts, clock=clock)
        counts = _per_provider(items, cfg.sla.providers)
        notes = {p: ("周报" if n else "表扬") for p, n in counts.items()}
        return notices.delivery_result(context, delivery, {
            "week": f"{days[0]:%Y.%m.%d}-{days[-1]:%Y.%m.%d}", "violations": len(items), "newly_recorded": new,
            "praised": sum(1 for n in counts.values() if n == 0),
            "per_provider": dg.MetadataValue.md(metadata_tables.sla_per_provider(counts, notes))},
            notices.waiting(engine, sla.WEEKLY_KINDS))

    return [contracts, rewards, reward_notices, sla_violations, sla_weekly_report]

