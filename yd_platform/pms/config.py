"""Load `config/pms.yaml`: the 37 services with schedule, owner, risk, SLA, tables and rules.

A wrong entry is refused when the code location loads, with a message naming the file,
the service and the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yd_platform.catalog.models import five_field_cron
from yd_platform.catalog.yaml_files import read_yaml
from yd_platform.pms.schema import TABLES

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "pms.yaml"
LEVELS = ("INFO", "WARNING", "CRITICAL", "URGENT")


class PmsConfigError(ValueError):
    """The PMS services file is wrong; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sla(_Model):
    max_execution_time_seconds: float = Field(gt=0)
    retry_on_failure: bool


class Service(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    config_id: str | None = None
    name: str
    cron: str
    category: Literal["alert", "check", "summary", "escalation", "other"]
    owner: str
    risk: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    sla: Sla
    tables: list[str]
    rules: dict[str, tuple[str, str]] = Field(default_factory=dict)
    partition: Literal["daily", "today", "monthly"] | None = None
    recipients: str | None = None

    @field_validator("sla", mode="before")
    @classmethod
    def _pair(cls, value):
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return {"max_execution_time_seconds": value[0], "retry_on_failure": value[1]}
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return five_field_cron(value)

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(TABLES))
        if unknown:
            raise ValueError(f"tables not in the PMS schema: {unknown}")
        return value

    @property
    def hourly(self) -> bool:
        return self.cron.split()[1] == "*"

    @property
    def rule_codes(self) -> list[str]:
        return list(self.rules)


class PmsConfig(_Model):
    timezone: str = "Asia/Shanghai"
    system_user_id: int = 1
    alert_channels: list[str] = Field(default_factory=lambda: ["SYSTEM"])
    outbox_channels: dict[str, list[str]] = Field(default_factory=dict)
    escalation_hours: dict[str, float]
    services: list[Service]

    @model_validator(mode="after")
    def _consistent(self) -> PmsConfig:
        ids = [s.id for s in self.services]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"services listed twice: {duplicates}")
        bad = sorted(set(self.escalation_hours) - set(LEVELS[:-1]))
        if bad:
            raise ValueError(f"escalation_hours: levels {bad} are not below URGENT in {LEVELS}")
        return self

    def service(self, service_id: str) -> Service:
        for svc in self.services:
            if service_id in (svc.id, svc.config_id):
                return svc
        raise KeyError(f"unknown PMS service {service_id!r}; `yd-platform pms list` shows the {len(self.services)}")


def _where(config: dict, loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "services" and isinstance(loc[1], int):
        items = config.get("services") or []
        name = items[loc[1]].get("id", f"#{loc[1]}") if loc[1] < len(items) else f"#{loc[1]}"
        return f"service {name!r}, field '{'.'.join(map(str, loc[2:])) or '(entry)'}'"
    return f"field '{'.'.join(map(str, loc))}'"


def parse_pms_config(data: dict, source: str = "pms.yaml") -> PmsConfig:
    try:
        return PmsConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(data, tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PmsConfigError(f"{source}: {problems}") from None


@lru_cache(maxsize=4)
def load_pms_config(path: str | None = None) -> PmsConfig:
    file = Path(path) if path else DEFAULT_CONFIG
    return parse_pms_config(read_yaml(file, PmsConfigError), file.name)
