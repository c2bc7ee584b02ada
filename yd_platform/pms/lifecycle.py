"""What people do with an alert (the PMS alerts screen or `yd-platform pms alert`).

acknowledge: PENDING only -> ACKNOWLEDGED. resolve: any but RESOLVED -> RESOLVED, filling
the handling fields. close -> CLOSED. ignore: any but RESOLVED -> IGNORED. Generators only
de-duplicate against PENDING alerts, so after an acknowledgement the next run may open a
new alert on the same target; escalation considers PENDING and ACKNOWLEDGED ones.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yd_platform.pms import schema as t

ACTIONS = ("acknowledge", "resolve", "close", "ignore")


class AlertStateError(ValueError):
    """The alert does not exist or cannot take this action in its status."""


def _load(conn: sa.Connection, alert_no: str) -> dict:
    row = conn.execute(sa.select(t.alert_records).where(t.alert_records.c.alert_no == alert_no)).mappings().first()
    if row is None:
        raise AlertStateError(f"no alert {alert_no!r}")
    return dict(row)


def apply(conn: sa.Connection, alert_no: str, action: str, user_id: int, now: datetime, note: str | None = None,
          result: str | None = None) -> dict:
    """Apply one action; returns the changed columns. Refuses what the status does not allow."""
    alert = _load(conn, alert_no)
    status = alert["status"]
    if action == "acknowledge":
        if status != "PENDING":
            raise AlertStateError(f"alert {alert_no} is {status}; only PENDING alerts can be acknowledged")
        values = dict(status="ACKNOWLEDGED", acknowledged_by=user_id, acknowledged_at=now)
    elif action in ("resolve", "ignore"):
        if status == "RESOLVED":
            raise AlertStateError(f"alert {alert_no} is already RESOLVED")
        values = dict(status="RESOLVED" if action == "resolve" else "IGNORED", handle_end_at=now,
                      handle_result=result or ("已处理" if action == "resolve" else "已忽略"), handle_note=note,
                      handler_id=alert["handler_id"] or user_id, handle_start_at=alert["handle_start_at"] or now)
    elif action == "close":
        values = dict(status="CLOSED", handler_id=alert["handler_id"] or user_id, handle_end_at=now, handle_note=note)
    else:
        raise AlertStateError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    conn.execute(sa.update(t.alert_records).where(t.alert_records.c.id == alert["id"]).values(updated_at=now, **values))
    return values
