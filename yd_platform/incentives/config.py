"""Load `incentives.yaml`: reward rules per city and month, notice robots and SLA settings.

Every mistake becomes one message naming the file, city, month and field, e.g.
``incentives.yaml: city 'BJ', month '2025-06', field 'tiers.0.tiers': thresholds must ...``,
so a wrong campaign is refused when the code location loads, not when awards go out.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yd_platform.catalog.yaml_files import parse_yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "incentives.yaml"
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class IncentivesConfigError(ValueError):
    """The incentives file is wrong; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prize(_Model):
    name: str = Field(min_length=1)
    reward: float = Field(ge=0)


class HighPrize(Prize):
    threshold: float = Field(gt=0)


class LuckyRule(_Model):
    """The Nth contract of the campaign whose last digit equals `number` wins a prize."""

    number: str
    base: Prize
    high: HighPrize | None = None
    reward_type: str = "幸运数字"

    @field_validator("number", mode="before")
    @classmethod
    def _digit(cls, value: Any) -> str:
        text = str(value)
        if not re.fullmatch(r"\d", text):
            raise ValueError(f"must be one digit 0-9, got {value!r}")
        return text


class Tier(_Model):
    name: str = Field(min_length=1)
    threshold: float = Field(gt=0)
    reward: float = Field(ge=0)


class TierLadder(_Model):
    """节节高: tiers reached by cumulative amount (after min_contracts) or by contract count."""

    by: Literal["amount", "count"] = "amount"
    reward_type: str = "节节高"
    min_contracts: int = Field(default=0, ge=0)
    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> TierLadder:
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError(f"thresholds must strictly increase from the lowest tier, got {thresholds}")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique, got {names}")
        if self.by == "count" and any(t != int(t) for t in thresholds):
            raise ValueError(f"count tiers need whole numbers of contracts, got {thresholds}")
        return self

    def sorted_tiers(self) -> list[Tier]:
        return sorted(self.tiers, key=lambda t: t.threshold)


class EliteRule(_Model):
    """精英管家: listed housekeepers carry a badge in notices and win `multiplier` times the prize."""

    badge: str = Field(min_length=1)
    multiplier: float = Field(default=2.0, ge=1)
    housekeepers: list[str] = Field(default_factory=list)

    def multiplier_for(self, housekeeper: str) -> float:
        return self.multiplier if housekeeper in self.housekeepers else 1.0


class RuleSet(_Model):
    """The reward rules of one city's campaign in one month."""

    person_key: Literal["housekeeper", "housekeeper_provider"] = "housekeeper"
    contracts_card: int | None = None
    contract_amount_cap: float | None = Field(default=None, gt=0)
    work_order_cap: float | None = Field(default=None, gt=0)
    template: str | None = None
    elite: EliteRule | None = None
    lucky: LuckyRule | None = None
    tiers: list[TierLadder] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_prizes(self) -> RuleSet:
        seen: set[tuple[str, str]] = set()
        for ladder in self.tiers:
            for tier in ladder.tiers:
                key = (ladder.reward_type, tier.name)
                if key in seen:
                    raise ValueError(f"tier {tier.name!r} of {ladder.reward_type!r} is defined twice")
                seen.add(key)
        if not self.lucky and not self.tiers:
            raise ValueError("a rule set needs 'lucky' or 'tiers'")
        return self

    def prize_table(self) -> dict[str, float]:
        """Reward name -> yuan (the old awards_mapping)."""
        table: dict[str, float] = {}
        if self.lucky:
            table[self.lucky.base.name] = self.lucky.base.reward
            if self.lucky.high:
                table[self.lucky.high.name] = self.lucky.high.reward
        for ladder in self.tiers:
            table.update({t.name: t.reward for t in ladder.tiers})
        return table


class City(_Model):
    name: str
    province: str = ""
    contracts_card: int | None = None
    group: str = ""
    contact: str = ""


TEMPLATE_FIELDS = {
    "housekeeper": "【🎖精英管家】张三", "name": "张三", "contract_no": "YHWX-BJ-0001", "platform_seq": 8,
    "person_count": 3, "person_amount": "45,000", "counted_amount": "40,000", "conversion": "35%",
    "award": "达成达标奖奖励条件，获得签约奖励200元 🧧🧧🧧", "next_step": "距离 优秀奖 还需 5,000 元",
}


HOURS_RE = re.compile(r"^(\d{1,2})-(\d{1,2})$")


class NoticeSettings(_Model):
    """Where and how award notices go, and how often the schedule looks for new awards:
    every `every_minutes` minutes (the old loop looked every 3) from the first to the last
    hour of `hours` (local time, both included: "08-22" ticks 08:00 to 22:57)."""

    url_env: str = "YD_INCENTIVES_WECOM_URL"
    msgtype: Literal["text", "markdown"] = "text"
    max_attempts: int = Field(default=5, ge=1)
    send_interval_seconds: float = Field(default=3.0, ge=0)
    every_minutes: int = Field(default=3, ge=1, le=60)
    hours: str = "08-22"
    templates: dict[str, str] = Field(default_factory=dict)

    @field_validator("every_minutes")
    @classmethod
    def _divides_the_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(f"must divide the hour evenly (1, 2, 3, 5, 10, 15, 20, 30 or 60), got {value}")
        return value

    @field_validator("hours")
    @classmethod
    def _hour_range(cls, value: str) -> str:
        match = HOURS_RE.match(str(value).strip())
        if not match or not 0 <= int(match[1]) <= int(match[2]) <= 23:
            raise ValueError(f"must be 'first-last' hours of the day, 0-23, first <= last (e.g. 08-22), got {value!r}")
        return f"{int(match[1]):02d}-{int(match[2]):02d}"

    @property
    def first_hour(self) -> int:
        return int(self.hours.split("-")[0])

    @property
    def last_hour(self) -> int:
        return int(self.hours.split("-")[1])

    @property
    def cron(self) -> str:
        """The schedule's cron: every `every_minutes` minutes within `hours`."""
        minutes = "0" if self.every_minutes == 60 else f"*/{self.every_minutes}"
        return f"{minutes} {self.first_hour}-{self.last_hour} * * *"

    def in_hours(self, hour: int) -> bool:
        return self.first_hour <= hour <= self.last_hour

    @field_validator("templates")
    @classmethod
    def _placeholders(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            try:
                text.format(**TEMPLATE_FIELDS)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"template {name!r}: unknown or bad placeholder {exc} "
                                 f"(known: {', '.join(TEMPLATE_FIELDS)})") from None
        return value


class Provider(_Model):
    url_env: str | None = None
    group: str = ""


class SlaSettings(_Model):
    start_date: date = date(2025, 4, 1)
    violations_card: int | None = None
    url_env: str = "YD_SLA_WECOM_URL"
    appeal_contact: str = ""
    daily_schedule: str = "0 9 * * *"
    weekly_schedule: str = "30 9 * * 1"
    max_attempts: int = Field(default=5, ge=1)
    providers: dict[str, Provider] = Field(min_length=1)

    @field_validator("providers", mode="before")
    @classmethod
    def _empty_provider(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v or {}) for k, v in value.items()}
        return value

    def provider_url_env(self, provider: str) -> str:
        known = self.providers.get(provider)
        return (known.url_env if known and known.url_env else None) or self.url_env

    def provider_group(self, provider: str) -> str:
        known = self.providers.get(provider)
        return known.group if known and known.group else ""


class TechnicianStatusSettings(_Model):
    """The technician (housekeeper) online/offline check: each change is told to the
    housekeeper's company and to the operations robot, once."""

    card: int | None = None
    schedule: str = "*/3 * * * *"
    url_env: str = "YD_OPS_WECOM_URL"


class ServiceReportSettings(_Model):
    """The daily service report: yesterday's violations per provider, praise for the rest."""

    schedule: str = "0 11 * * *"


class IncentivesConfig(_Model):
    timezone: str = "Asia/Shanghai"
    start_month: str
    cities: dict[str, City] = Field(min_length=1)
    rules: dict[str, dict[str, RuleSet]] = Field(default_factory=dict)
    notices: NoticeSettings = NoticeSettings()
    sla: SlaSettings
    technician_status: TechnicianStatusSettings = TechnicianStatusSettings()
    service_report: ServiceReportSettings = ServiceReportSettings()

    @model_validator(mode="before")
    @classmethod
    def _drop_anchors(cls, raw: Any) -> Any:
        """Top-level `x-...` keys only hold YAML anchors shared by several campaigns."""
        if isinstance(raw, dict):
            return {k: v for k, v in raw.items() if not str(k).startswith("x-")}
        return raw

    @field_validator("start_month")
    @classmethod
    def _month(cls, value: str) -> str:
        if not MONTH_RE.match(value):
            raise ValueError(f"must be a month like 2025-06, got {value!r}")
        return value

    @model_validator(mode="after")
    def _known_templates(self) -> IncentivesConfig:
        for city, months in self.rules.items():
            for month, rules in months.items():
                if rules.template and rules.template not in self.notices.templates:
                    raise ValueError(f"city {city!r}, month {month!r}, field 'template': {rules.template!r} is not "
                                     f"under notices.templates (known: {', '.join(self.notices.templates) or 'none'})")
        return self

    def rule_set(self, city: str, month: str) -> RuleSet | None:
        return self.rules.get(city, {}).get(month)

    def contracts_card(self, city: str, month: str) -> int | None:
        """The campaign's own card, else the city's."""
        rules = self.rule_set(city, month)
        return (rules.contracts_card if rules else None) or self.cities[city].contracts_card

    def robot_variables(self) -> list[str]:
        """The variables holding the webhooks of every robot notices go to."""
        names = [self.notices.url_env, self.sla.url_env, self.technician_status.url_env,
                 *(p.url_env for p in self.sla.providers.values() if p.url_env)]
        return sorted(set(names))


def _where(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into "city 'BJ', month '2025-06', field 'x.y'"."""
    parts: list[str] = []
    rest = list(loc)
    if rest[:1] == ["rules"] and len(rest) >= 2:
        parts.append(f"city {rest[1]!r}")
        rest = rest[2:]
        if rest:
            parts.append(f"month {rest[0]!r}")
            rest = rest[1:]
    elif rest[:1] == ["cities"] and len(rest) >= 2:
        parts.append(f"city {rest[1]!r}")
        rest = rest[2:]
    fields = [str(r) for r in rest]
    if fields:
        parts.append(f"field {'.'.join(fields)!r}")
    return ", ".join(parts) or "top level"


def _check_keys(raw: dict[str, Any]) -> None:
    """City and month keys of `rules` must name a configured city and a real month."""
    cities = raw.get("cities") or {}
    rules = raw.get("rules") or {}
    if not isinstance(rules, dict):
        raise IncentivesConfigError("field 'rules': must be a mapping of city to months")
    for city, months in rules.items():
        if city not in cities:
            raise IncentivesConfigError(f"city {city!r}: has rules but is not listed under 'cities' "
                                        f"(known: {', '.join(sorted(cities)) or 'none'})")
        if not isinstance(months, dict):
            raise IncentivesConfigError(f"city {city!r}: rules must map months (YYYY-MM) to rule sets")
        for month in months:
            if not MONTH_RE.match(str(month)):
                raise IncentivesConfigError(f"city {city!r}, month {month!r}: not a month like 2025-06")


def parse_incentives(text: str, source: str = "incentives.yaml") -> IncentivesConfig:
    """Parse the YAML text; `source` names the file in error messages."""
    raw = parse_yaml(text, source, IncentivesConfigError)
    if isinstance(raw.get("rules"), dict):
        raw["rules"] = {str(c): ({str(m): r for m, r in months.items()} if isinstance(months, dict) else months)
                        for c, months in raw["rules"].items()}
    try:
        _check_keys(raw)
        return IncentivesConfig.model_validate(raw)
    except IncentivesConfigError as exc:
        raise IncentivesConfigError(f"{source}: {exc}") from None
    except ValidationError as exc:
        lines = [f"{source}: {_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                 for err in exc.errors()]
        raise IncentivesConfigError("\n".join(lines)) from None


def default_config_path() -> Path:
    return Path(os.environ.get("YD_INCENTIVES_CONFIG") or DEFAULT_CONFIG)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> IncentivesConfig:
    return parse_incentives(Path(path).read_text(encoding="utf-8"), source=Path(path).name)


def load_incentives_config(path: str | os.PathLike[str] | None = None) -> IncentivesConfig:
    """Load and validate (default: `$YD_INCENTIVES_CONFIG` or the packaged file)."""
    p = Path(path) if path else default_config_path()
    if not p.exists():
        raise IncentivesConfigError(f"{p}: incentives config file not found")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
