"""Failing checks nobody is told about: the alert state read back for people.

The notifier keeps, per check and partition, whether it is failing (`alert_state`). When
no channel can send (none configured, or their variables unset), failures still land
there but no message is queued: the sensor's tick log, `yd-platform doctor` and
`yd-platform status` read them from here and say so instead of staying silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from yd_platform.notify.config import NotifyConfig
from yd_platform.notify.outbox import alert_state, ensure_tables

LISTED = 5


@dataclass(frozen=True)
class FailingCheck:
    asset: str
    check: str
    partition: str
    severity: str
    since: float

    @property
    def label(self) -> str:
        return f"{self.asset} {self.check} {self.partition}".strip()


def failing_checks(engine: sa.Engine) -> list[FailingCheck]:
    """Checks (per partition) failing in their latest evaluation, ERRORs first."""
    ensure_tables(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alert_state).where(alert_state.c.status == "failing")).mappings().all()
    out = [FailingCheck(*row["check_id"].rsplit(":", 1), row["partition_key"], row["severity"],
                        row["first_failed_at"] or row["updated_at"]) for row in rows]
    return sorted(out, key=lambda c: (c.severity != "ERROR", c.asset, c.check, c.partition))


def channel_hint(config: NotifyConfig) -> str:
    """Which variables would let the configured channels send."""
    names = sorted({n for ch in config.channels.values() for n in ch.missing_env()})
    return f"set {', '.join(names)}" if names else "add a channel under 'notify' in alerts.yaml"


def unannounced(failing: list[FailingCheck], config: NotifyConfig) -> str | None:
    """A warning when ERROR checks fail while no channel can send, else None."""
    errors = [c for c in failing if c.severity == "ERROR"]
    if not errors or any(not ch.missing_env() for ch in config.channels.values()):
        return None
    shown = "; ".join(c.label for c in errors[:LISTED])
    more = f" and {len(errors) - LISTED} more" if len(errors) > LISTED else ""
    return (f"ALERTS PENDING: {len(errors)} ERROR check(s) failing ({shown}{more}) and no alert channel "
            f"is set, so nobody is told: {channel_hint(config)}")
