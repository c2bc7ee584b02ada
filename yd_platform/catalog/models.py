"""Typed models of the platform catalog (`config/platforms.yaml`).

Validation happens here so that a wrong entry fails when the code location loads,
with the platform, dataset and field named, instead of at 08:30 on a schedule tick.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yd_platform.catalog.collectors import COLLECTOR_NAMES

PARTITION_KEY_RE = re.compile(r"^[A-Za-z0-9_\-.]+$")
IDENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Labels merchant exports put in front of a total row below the data.
DEFAULT_FOOTER_MARKERS = ("合计", "总计", "小计", "总合计", "汇总", "total", "subtotal", "grand total")


class Cadence(str, Enum):  # noqa: UP042 - a StrEnum would change what str() and f-strings of a member give
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(Strict):
    """One canonical column of a dataset and the Chinese headers it arrives under."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    type: Literal["string", "int", "float", "date", "datetime", "bool"] = "string"
    required: bool = False
    key: bool = False
    field: str | None = Field(
        default=None,
        description="Where the value is in the back-end's JSON list answer, for reports the collector "
                    "writes itself (e.g. `goods_id`, `itemInfo.title`, `pictures[].url`, `@date`); "
                    "the first alias is the header written",
    )

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENT_RE.match(value):
            raise ValueError(f"column name {value!r} must be snake_case (a-z, 0-9, _)")
        return value


def five_field_cron(value: str) -> str:
    """A cron string of five fields (minute hour day month weekday), or a ValueError."""
    if not croniter.is_valid(value) or len(value.split()) != 5:
        raise ValueError(f"invalid cron expression {value!r} (five fields expected)")
    return value


class ChecksSpec(Strict):
    """Per-dataset alert settings read by the checks stage."""

    freshness_deadline: str | None = Field(
        default=None, description="HH:MM (platform timezone) by which the due partition must exist"
    )
    volume_tolerance_pct: float = 50.0
    volume_lookback: int = 7

    @field_validator("freshness_deadline")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None:
            datetime.strptime(value, "%H:%M")
        return value


class ShopSpec(Strict):
    """A merchant shop: the shop partition key, its display name and login account."""

    id: str
    name: str
    account: str | None = None
    active: bool = True
    backend: dict[str, str | int] = Field(
        default_factory=dict,
        description="How the back-end knows this shop: report template id, user nick, company ids "
                    "(read by the platform's collector; see the platform's comment in platforms.yaml)",
    )

    @field_validator("id")
    @classmethod
    def _partition_safe(cls, value: str) -> str:
        if not PARTITION_KEY_RE.match(value):
            raise ValueError(
                f"shop id {value!r} may only contain letters, digits, '_', '-' and '.'"
            )
        return value

    @property
    def login_account(self) -> str:
        return self.account or self.id


class DatasetSpec(Strict):
    """One report of one platform and the rules for when and how it is collected.

    `code`, `platform` and the path/table/collector defaults are filled in by the loader
    from the mapping keys and the catalog defaults.
    """

    code: str
    platform: str
    name: str = Field(description="Human name shown in the UI, e.g. 差评数据")
    cadence: Cadence
    offset: int | None = Field(default=None, description="daily: T+offset, e.g. -1 for T-1")
    range: tuple[int, int] | Literal["last_month"] | None = Field(
        default=None, description="weekly: [start, end] days relative to T; monthly: last_month"
    )
    cron: str
    collector: str
    report: dict[str, Any] = Field(default_factory=dict)
    object_path: str
    table: str
    enabled: bool = True
    description: str = ""
    owners: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    start_date: date
    timezone: str = "Asia/Shanghai"
    automation_lookback_days: int = Field(default=31, ge=1)
    quarantine_bad_files: bool = False
    footer_markers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FOOTER_MARKERS),
        description="labels of total/footer rows (their first non-empty cell) the merge drops and counts",
    )
    columns: list[ColumnSpec] = Field(default_factory=list)
    checks: ChecksSpec = Field(default_factory=ChecksSpec)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return five_field_cron(value)

    @field_validator("collector")
    @classmethod
    def _known_collector(cls, value: str | None) -> str | None:
        if value is not None and value not in COLLECTOR_NAMES:
            raise ValueError(
                f"unknown collector {value!r}; known: {', '.join(COLLECTOR_NAMES)}"
            )
        return value

    @model_validator(mode="after")
    def _cadence_rules(self) -> DatasetSpec:
        if self.cadence is Cadence.daily:
            if self.offset is None:
                raise ValueError("field 'offset': daily datasets need 'offset' (e.g. -1 for T-1)")
            if self.offset > 0:
                raise ValueError("field 'offset': must be 0 or negative (data of the future is not there)")
        elif self.cadence is Cadence.weekly:
            if not isinstance(self.range, tuple):
                raise ValueError("field 'range': weekly datasets need 'range: [start, end]', e.g. [-9, -3]")
            start, end = self.range
            if end - start != 6:
                raise ValueError(f"field 'range': a weekly window spans 7 days, got {start}..{end}")
            if end > 0:
                raise ValueError("field 'range': the window must end on or before T")
            if _cron_weekday(self.cron) is None:
                raise ValueError(
                    "field 'cron': a weekly dataset's cron must fire on exactly one weekday "
                    "so its window lines up with the weekly partitions"
                )
        elif self.cadence is Cadence.monthly:
            if self.range != "last_month":
                raise ValueError("field 'range': monthly datasets need 'range: last_month'")
        if self.columns:
            names = [c.name for c in self.columns]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"field 'columns': duplicate column names {dupes}")
        return self

    @property
    def key_prefix(self) -> list[str]:
        """Asset key prefix: `<platform>/<dataset>`."""
        return [self.platform, self.code]

    @property
    def slug(self) -> str:
        """`<platform>__<dataset>`, used for job, schedule and check names."""
        return f"{self.platform}__{self.code}"

    @property
    def weekly_start_weekday(self) -> int:
        """Weekday (0=Sunday, Dagster's convention) on which the weekly window starts."""
        tick = _cron_weekday(self.cron)
        assert tick is not None and isinstance(self.range, tuple)
        return (tick + self.range[0]) % 7


def _cron_weekday(cron: str) -> int | None:
    """The single weekday (0=Sunday) a cron fires on, or None if it is not exactly one."""
    field = cron.split()[4]
    if field.isdigit():
        return int(field) % 7
    names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    return names.index(field.lower()) if field.lower() in names else None


class PlatformSpec(Strict):
    """A merchant back-end (pdd, tm, jd, erp) with its shops and datasets."""

    code: str
    name: str
    collector: str | None = None
    owners: list[str] = Field(default_factory=list)
    max_concurrent_runs: int = Field(default=2, ge=1)
    requests_per_minute: int = Field(
        default=0, ge=0,
        description="the back-end's pace: at most this many requests a minute from all collections "
                    "together, across runs and machines (0: no pace)",
    )
    shops_table: str | None = None
    # true: the shops listed here are the only ones, whatever YD_SHOPS_SOURCE says (for a
    # source that is not a merchant back-end, e.g. the warehouse of the dw tables)
    shops_from_catalog: bool = False
    shops: list[ShopSpec] = Field(default_factory=list)
    datasets: dict[str, DatasetSpec]

    @field_validator("collector")
    @classmethod
    def _known_collector(cls, value: str | None) -> str | None:
        return DatasetSpec._known_collector(value)

    @model_validator(mode="after")
    def _unique_shops(self) -> PlatformSpec:
        ids = [s.id for s in self.shops]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"shops: duplicate shop ids {dupes}")
        return self

    @property
    def shops_partition_name(self) -> str:
        return f"{self.code}_shops"

    @property
    def mysql_shops_table(self) -> str:
        return self.shops_table or f"{self.code}_shops"

    def active_shops(self) -> list[ShopSpec]:
        return [s for s in self.shops if s.active]


class Defaults(Strict):
    timezone: str = "Asia/Shanghai"
    start_date: date = Field(default=date(2025, 9, 1),
                             description="first period of every dataset without its own start_date")
    object_path: str = "ods/{platform}/{dataset}"
    table: str = "minio.warehouse.ods.{platform}.{dataset}"
    owners: list[str] = Field(default_factory=list)


class Catalog(Strict):
    """The whole catalog. Use `datasets()` to walk every (platform, dataset)."""

    defaults: Defaults = Field(default_factory=Defaults)
    platforms: dict[str, PlatformSpec]

    def datasets(self, enabled_only: bool = False) -> list[DatasetSpec]:
        """Every dataset in config order (optionally only the enabled ones)."""
        return [
            ds
            for platform in self.platforms.values()
            for ds in platform.datasets.values()
            if ds.enabled or not enabled_only
        ]

    def dataset(self, platform: str, dataset: str) -> DatasetSpec:
        try:
            return self.platforms[platform].datasets[dataset]
        except KeyError as exc:
            raise KeyError(f"no dataset {platform}/{dataset} in the catalog") from exc
