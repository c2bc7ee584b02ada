"""What the platform computed for a campaign month, read back from the object store: its
contracts and awards as `incentives/contracts` and `incentives/rewards` wrote them.

Commands outside Dagster (importing the old system's notices, the shadow report) compare
with these, so they see exactly what the assets announce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yd_platform.incentives import store
from yd_platform.incentives.config import IncentivesConfig


@dataclass(frozen=True)
class ComputedMonth:
    """One city's campaign month: contract id -> contract number, and the awards (records
    of `Award`). `missing` names what is not materialized yet ("" when both are there)."""

    city: str
    month: str
    contracts: dict[str, str] = field(default_factory=dict)
    awards: list[dict] = field(default_factory=list)
    missing: str = ""

    @property
    def partition(self) -> str:
        """The notices' partition key in the outbox (`<month>|<city>`)."""
        return f"{self.month}|{self.city}"

    def lucky_prizes(self, cfg: IncentivesConfig) -> set[str]:
        rules = cfg.rule_set(self.city, self.month)
        if rules is None or rules.lucky is None:
            return set()
        return {rules.lucky.base.name} | ({rules.lucky.high.name} if rules.lucky.high else set())


def read_month(client, city: str, month: str) -> ComputedMonth:
    contracts = store.read_frame(client, store.contracts_key(month, city))
    awards = store.read_frame(client, store.awards_key(month, city))
    missing = ", ".join(name for name, frame in (("incentives/contracts", contracts), ("incentives/rewards", awards))
                        if frame is None)
    return ComputedMonth(
        city, month,
        {str(r["contract_id"]): str(r["contract_no"]) for r in store.records(contracts)},
        store.records(awards), missing)


def campaign_months(cfg: IncentivesConfig, client, months: list[str] | None = None,
                    cities: list[str] | None = None) -> list[ComputedMonth]:
    """Every configured campaign month (of these months and cities) as computed."""
    return [read_month(client, city, month) for city, by_month in sorted(cfg.rules.items())
            if cities is None or city in cities
            for month in sorted(by_month) if months is None or month in months]
