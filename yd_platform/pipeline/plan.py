"""What the schedules request on a given day: the single code path behind both the
schedules and `yd-platform plan` (the old task generator's test mode).

A shop whose period is already collected is not requested again, whoever collected it:
its raw partition is in the instance, the period was adopted from the old system's
object store (`yd-platform adopt`), or the old task table says the shop finished it
(`已完成`), as the old generator never reset a finished task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import Period, period_for_tick, ticks_on
from yd_platform.datasets.keys import merged_key, raw_key
from yd_platform.datasets.partitions import raw_partition_key

# (dataset, period, shops) -> {shop: why it counts as collected already}
CollectedLookup = Callable[[DatasetSpec, Period, Sequence[str]], Mapping[str, str]]
ADOPTED = "period adopted from the old system"
RAW_MATERIALIZED = "raw partition materialized"

SCHEDULE_KINDS = ("daily", "weekly", "monthly", "all")


def platform_today(catalog: Catalog, now: datetime | None = None) -> date:
    """Day T now: the date in the catalog's timezone (Asia/Shanghai), which is already the
    next day while the machine's UTC clock still shows the previous evening."""
    return (now or datetime.now(ZoneInfo(catalog.defaults.timezone))).astimezone(
        ZoneInfo(catalog.defaults.timezone)).date()


@dataclass(frozen=True)
class PlannedCollection:
    """One dataset's request for one tick: a period and the shops to collect it for."""

    dataset: DatasetSpec
    period: Period
    shops: tuple[str, ...]
    # shops left out because their period is collected already, with the reason
    collected: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "platform": self.dataset.platform,
            "dataset": self.dataset.code,
            "name": self.dataset.name,
            "cadence": self.dataset.cadence.value,
            "partition": self.period.key,
            "period": self.period.label,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "shops": list(self.shops),
            "already_collected": dict(self.collected),
        }

    def run_key(self, shop: str) -> str:
        return f"{self.dataset.slug}|{self.period.key}|{shop}"

    def run_requests(self, accounts: dict[str, str] | None = None) -> list[dg.RunRequest]:
        """One run per shop; run keys make a repeated tick request nothing twice."""
        accounts = accounts or {}
        return [
            dg.RunRequest(
                run_key=self.run_key(shop),
                partition_key=raw_partition_key(self.period.key, shop),
                tags={
                    "yd/platform": self.dataset.platform,
                    "yd/dataset": self.dataset.code,
                    "yd/period": self.period.label,
                    "yd/shop": f"{self.dataset.platform}:{shop}",
                    "yd/account": f"{self.dataset.platform}:{accounts.get(shop, shop)}",
                },
            )
            for shop in self.shops
        ]


def shop_accounts(catalog: Catalog, platform: str) -> dict[str, str]:
    """Shop id -> merchant account it logs in with (the `yd/account` run tag)."""
    return {s.id: s.login_account for s in catalog.platforms[platform].shops}


def plan_dataset(ds: DatasetSpec, tick_day: date, shops: Iterable[str],
                 collected: CollectedLookup | None = None) -> PlannedCollection:
    """The tick's period for every shop whose period is not collected already."""
    period = period_for_tick(ds, tick_day)
    shops = sorted(set(shops))
    done = dict(collected(ds, period, shops)) if collected and shops else {}
    return PlannedCollection(ds, period, tuple(s for s in shops if s not in done),
                             tuple((s, done[s]) for s in shops if s in done))


def period_adopted(instance: dg.DagsterInstance, ds: DatasetSpec, period_key: str) -> bool:
    """The period's merged partition was recorded from the old system's files
    (`yd-platform adopt`) and not merged again since."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=merged_key(ds), asset_partitions=[period_key]), limit=1).records
    if not records or records[0].asset_materialization is None:
        return False
    adopted = records[0].asset_materialization.metadata.get("adopted")
    return bool(getattr(adopted, "value", adopted))


def collected_in_instance(instance: dg.DagsterInstance, ds: DatasetSpec, period: Period,
                          shops: Sequence[str]) -> dict[str, str]:
    """Shops whose raw partition of `period` is in the instance, or every shop when the
    period was adopted from the old system."""
    if period_adopted(instance, ds, period.key):
        return dict.fromkeys(shops, ADOPTED)
    materialized = instance.get_materialized_partitions(raw_key(ds))
    return {s: RAW_MATERIALIZED for s in shops if str(raw_partition_key(period.key, s)) in materialized}


def collected_in_task_table(task_tables, shop_names: Callable[[], Mapping[str, str]], ds: DatasetSpec,
                            period: Period, shops: Sequence[str]) -> dict[str, str]:
    """Shops the old task table (`task_tables` resource) says finished `period`;
    `shop_names` gives {shop id: name} (the table is keyed by name), asked only when
    the table has finished rows for the period."""
    finished = task_tables.finished_names(ds, period)
    if not finished:
        return {}
    names = shop_names()
    return {s: f"old task table: {finished[names.get(s, s)]}" for s in shops if names.get(s, s) in finished}


def first_of(*lookups: CollectedLookup) -> CollectedLookup:
    """One lookup asking each in turn about the shops the ones before did not settle."""
    def collected(ds: DatasetSpec, period: Period, shops: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for lookup in lookups:
            rest = [s for s in shops if s not in found]
            if not rest:
                break
            found.update(lookup(ds, period, rest))
        return found

    return collected


def plan_day(
    catalog: Catalog,
    day: date,
    shops_for: Callable[[str], Iterable[str]],
    schedule: str = "all",
    platforms: Iterable[str] | None = None,
    collected: CollectedLookup | None = None,
) -> list[PlannedCollection]:
    """Every enabled dataset whose schedule ticks on `day`, with its period and the shops
    still to collect (`collected` says which are done already)."""
    if schedule not in SCHEDULE_KINDS:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULE_KINDS)}, got {schedule!r}")
    wanted = set(platforms or [])
    unknown = wanted - set(catalog.platforms)
    if unknown:
        raise ValueError(f"unknown platforms {sorted(unknown)}; known: {sorted(catalog.platforms)}")
    plans = []
    for ds in catalog.datasets(enabled_only=True):
        if wanted and ds.platform not in wanted:
            continue
        if schedule != "all" and ds.cadence.value != schedule:
            continue
        if not ticks_on(ds, day):
            continue
        plans.append(plan_dataset(ds, day, shops_for(ds.platform), collected))
    return plans
