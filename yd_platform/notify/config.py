"""Where alert messages go: the `notify` section of `config/alerts.yaml`.

The channels and the retry backoff are the outbox's (`OutboxConfig`); this stage adds
the routing: which channels get alerts, which get escalations and after how long, and
whether failed runs are told. Channel URLs, secrets and recipients are named by
environment variable, never written in the file.
"""

from __future__ import annotations

from pydantic import Field, ValidationError, model_validator

from yd_platform.catalog.alerts_file import read_alerts_file, section_error
from yd_platform.outbox.channel_config import OutboxConfig


class NotifyConfig(OutboxConfig):
    default_channels: list[str] = Field(default_factory=list)
    escalation_channels: list[str] = Field(default_factory=list)
    escalate_after_minutes: float = Field(default=120, gt=0)
    notify_run_failures: bool = True

    @model_validator(mode="after")
    def _known_channels(self) -> NotifyConfig:
        for field in ("default_channels", "escalation_channels"):
            unknown = sorted(set(getattr(self, field)) - set(self.channels))
            if unknown:
                raise ValueError(f"'{field}' names unknown channels {unknown}")
        return self


def load_notify_config(data: dict | None = None) -> NotifyConfig:
    """The `notify` section of alerts.yaml (read through the shared YAML reader);
    mistakes read `alerts.yaml: notify.<field>: <what>` like every config file's."""
    data = read_alerts_file() if data is None else data
    try:
        return NotifyConfig.model_validate(data.get("notify") or {})
    except ValidationError as exc:
        raise section_error("notify", exc) from None
