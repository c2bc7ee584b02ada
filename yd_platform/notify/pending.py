"""Failing checks nobody is told about: the alert state read back for people.

The notifier keeps, per check and partition, whether it is failing (`alert_state`). When
no channel can send (none configured, or their variables unset), failures still land
there but no message is queued: the sensor's tick log, `yd-platform doctor` and
`yd-platform status` read them from here and say so instead of staying silent. Whether a
channel can send is what its settings (`ChannelsResource`) hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from yd_platform.notify.alert_state import alert_state, ensure_tables
from yd_platform.notify.config import NotifyConfig, load_notify_config
from yd_platform.outbox.channel_resources import ChannelsResource, alert_channels_now

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


def channel_hint(config: NotifyConfig, channels: ChannelsResource) -> str:
    """Which variables would let the configured channels send."""
    names = sorted({n for name, ch in config.channels.items() for n in channels.missing(name, ch)})
    return f"set {', '.join(names)}" if names else "add a channel under 'notify' in alerts.yaml"


def unannounced(failing: list[FailingCheck], config: NotifyConfig, channels: ChannelsResource) -> str | None:
    """A warning when ERROR checks fail while no channel can send, else None."""
    errors = [c for c in failing if c.severity == "ERROR"]
    if not errors or any(not channels.missing(name, ch) for name, ch in config.channels.items()):
        return None
    shown = "; ".join(c.label for c in errors[:LISTED])
    more = f" and {len(errors) - LISTED} more" if len(errors) > LISTED else ""
    return (f"ALERTS PENDING: {len(errors)} ERROR check(s) failing ({shown}{more}) and no alert channel "
            f"is set, so nobody is told: {channel_hint(config, channels)}")


def unannounced_now(failing: list[FailingCheck]) -> str | None:
    """`unannounced` with alerts.yaml and the channel settings the environment holds now
    (for commands outside Dagster: doctor, status)."""
    return unannounced(failing, load_notify_config(), alert_channels_now())
