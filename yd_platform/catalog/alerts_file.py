"""`config/alerts.yaml`, the one file of alerting: business rules (`rules`, run as asset
checks) and where messages go (`notify`: channels, routing, escalation, retries).

Several packages read parts of it (the checks the rules, the outbox the channels, the
notify stage the routing); all read it here, through the shared YAML reader, and a
mistake anywhere reads ``alerts.yaml: <where>: <what>`` as an `AlertsConfigError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from yd_platform.catalog.yaml_files import dotted, read_yaml

DEFAULT_ALERTS = Path(__file__).resolve().parent.parent / "config" / "alerts.yaml"


class AlertsConfigError(ValueError):
    """alerts.yaml is wrong; the message names the rule or field and what is wrong."""


def default_alerts_path() -> Path:
    """`$YD_ALERTS_CONFIG`, else the packaged file."""
    return Path(os.environ.get("YD_ALERTS_CONFIG") or DEFAULT_ALERTS)


def read_alerts_file(path: Path | None = None) -> dict:
    return read_yaml(path or default_alerts_path(), AlertsConfigError)


def section_error(section: str, exc: ValidationError) -> AlertsConfigError:
    """A section's validation errors as one message: `alerts.yaml: notify.channels.x.type: ...`."""
    problems = "; ".join(f"{dotted((section, *e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors())
    return AlertsConfigError(f"{default_alerts_path().name}: {problems}")
