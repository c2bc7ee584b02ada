"""What the schedules request on a given day: the single code path behind both the
schedules and `yd-platform plan` (the old task generator's test mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import Period, period_for_tick, ticks_on
from yd_platform.pipeline.partitions import raw_partition_key

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


def plan_dataset(ds: DatasetSpec, tick_day: date, shops: Iterable[str]) -> PlannedCollection:
    return PlannedCollection(ds, period_for_tick(ds, tick_day), tuple(sorted(shops)))


def plan_day(
    catalog: Catalog,
    day: date,
    shops_for: Callable[[str], Iterable[str]],
    schedule: str = "all",
    platforms: Iterable[str] | None = None,
) -> list[PlannedCollection]:
    """Every enabled dataset whose schedule ticks on `day`, with its period and shops."""
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
        plans.append(plan_dataset(ds, day, shops_for(ds.platform)))
    return plans
