"""Load `config/housekeeping.yaml`: how long runs and exited run containers are kept.

A wrong value is refused when the code location loads, with the file and the field named.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yd_platform.catalog.models import five_field_cron
from yd_platform.catalog.yaml_files import read_yaml

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "housekeeping.yaml"


class HousekeepingConfigError(ValueError):
    """The housekeeping file is wrong; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunRetention(_Model):
    keep_days: int = Field(ge=1, description="finished runs created longer ago are deleted")
    cron: str

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return five_field_cron(value)


class RunContainerRetention(_Model):
    keep_hours: int = Field(ge=1, description="exited run containers created longer ago are removed")


class HousekeepingConfig(_Model):
    timezone: str = "Asia/Shanghai"
    runs: RunRetention
    run_containers: RunContainerRetention


def parse_housekeeping_config(data: dict, source: str = "housekeeping.yaml") -> HousekeepingConfig:
    try:
        return HousekeepingConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors())
        raise HousekeepingConfigError(f"{source}: {problems}") from None


@lru_cache(maxsize=4)
def load_housekeeping_config(path: str | None = None) -> HousekeepingConfig:
    file = Path(path) if path else DEFAULT_CONFIG
    return parse_housekeeping_config(read_yaml(file, HousekeepingConfigError), file.name)
