"""What people do with an alert (the PMS alerts screen or `yd-platform pms alert`).

The lifecycle, from the PMS alerts API:

    action       allowed from                                  to
    acknowledge  PENDING                                       ACKNOWLEDGED (acknowledged_by/_at)
    resolve      PENDING, ACKNOWLEDGED, PROCESSING             RESOLVED (handler, handle_start/end, result, note)
    ignore       PENDING, ACKNOWLEDGED, PROCESSING             IGNORED (result 已忽略)
    close        PENDING, ACKNOWLEDGED, PROCESSING, RESOLVED   CLOSED (handler, handle_end_at)

CLOSED and IGNORED are final: resolving or closing them again would overwrite when and how
the case was handled. The acting user must be an active user of the PMS `users` table,
since their id is written into acknowledged_by / handler_id. A refused action names the
alert, its status, the action and what is allowed, and writes nothing.

Generators only de-duplicate against PENDING alerts, so after an acknowledgement the next
run may open a new alert on the same target; escalation considers PENDING and ACKNOWLEDGED.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yd_platform.pms import schema as t

OPEN = ("PENDING", "ACKNOWLEDGED", "PROCESSING")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "acknowledge": ("PENDING",),
    "resolve": OPEN,
    "ignore": OPEN,
    "close": OPEN + ("RESOLVED",),
}
ACTIONS = tuple(ALLOWED_FROM)


class AlertStateError(ValueError):
    """The alert does not exist or cannot take this action in its status."""


class AlertUserError(ValueError):
    """The acting user is not an active PMS user."""


def _load(conn: sa.Connection, alert_no: str) -> dict:
    row = conn.execute(sa.select(t.alert_records).where(t.alert_records.c.alert_no == alert_no)).mappings().first()
    if row is None:
        raise AlertStateError(f"no alert {alert_no!r}")
    return dict(row)


def check_user(conn: sa.Connection, user_id: int) -> dict:
    """The acting user's row; refuses an id the PMS does not know or a user not active."""
    u = t.users.c
    user = conn.execute(sa.select(u.id, u.username, u.real_name, u.is_active).where(u.id == user_id)).mappings().first()
    if user is None:
        raise AlertUserError(f"user {user_id} is not in the PMS users table; --user takes the id of an active user")
    if user["is_active"] is not True:
        state = "inactive" if user["is_active"] is False else "not marked active (is_active is NULL)"
        name = user["real_name"] or user["username"] or user_id
        raise AlertUserError(f"user {user_id} ({name}) is {state}; only active users can act on alerts")
    return dict(user)


def check_transition(alert: dict, action: str) -> None:
    if action not in ALLOWED_FROM:
        raise AlertStateError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    status = alert["status"]
    allowed = ALLOWED_FROM[action]
    if status not in allowed:
        final = " (a final status)" if status in ("CLOSED", "IGNORED") else ""
        raise AlertStateError(f"alert {alert['alert_no']} is {status}{final}; cannot {action} it: "
                              f"{action} is allowed only from {', '.join(allowed)}")


def apply(conn: sa.Connection, alert_no: str, action: str, user_id: int, now: datetime, note: str | None = None,
          result: str | None = None) -> dict:
    """Apply one action; returns the changed columns. Refuses an unknown or inactive user and
    what the alert's status does not allow, before anything is written."""
    alert = _load(conn, alert_no)
    check_transition(alert, action)
    check_user(conn, user_id)
    if action == "acknowledge":
        values = dict(status="ACKNOWLEDGED", acknowledged_by=user_id, acknowledged_at=now)
    elif action in ("resolve", "ignore"):
        values = dict(status="RESOLVED" if action == "resolve" else "IGNORED", handle_end_at=now,
                      handle_result=result or ("已处理" if action == "resolve" else "已忽略"), handle_note=note,
                      handler_id=alert["handler_id"] or user_id, handle_start_at=alert["handle_start_at"] or now)
    else:
        values = dict(status="CLOSED", handler_id=alert["handler_id"] or user_id, handle_end_at=now,
                      handle_note=note if note is not None else alert["handle_note"])
    # compare-and-set on the status read above: an action by someone else in between is not overwritten
    a = t.alert_records.c
    done = conn.execute(sa.update(t.alert_records).where((a.id == alert["id"]) & (a.status == alert["status"]))
                        .values(updated_at=now, **values)).rowcount
    if done != 1:
        raise AlertStateError(f"alert {alert_no} changed while {action} was applied; nothing written, try again")
    return values
