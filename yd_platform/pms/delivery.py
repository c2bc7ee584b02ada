"""PMS alerts to people: alert_notifications rows per recipient and channel, handed to the
platform outbox.

`alert_notifications` stays the per-recipient record the PMS screens read; the outbox
(`yd_platform.outbox`, app database) replaces the old Redis queue and its worker:
SYSTEM rows are written straight into the in-app `notifications` inbox, WECHAT/EMAIL/
SMS/WEBHOOK rows are enqueued on the outbox channels that `pms.yaml` maps them to (the
channels of alerts.yaml), and the outbox's own delivery, rate limits and retry-with-backoff
send them. `sync_from_outbox` copies the outcome back (SENT, FAILED with retry_count and
next_retry_at, ABANDONED).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime

import sqlalchemy as sa

from yd_platform.deployment import ui_url
from yd_platform.outbox.channel_config import OutboxConfig
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.delivery import Delivery, DeliverySummary
from yd_platform.outbox.enqueue import Message, enqueue, stored_key
from yd_platform.outbox.tables import FAILED, SENT, ensure_tables, messages
from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, normalise_level

CHANNEL_SETTING = {"EMAIL": "email_enabled", "SMS": "sms_enabled", "WECHAT": "wechat_enabled", "SYSTEM": "system_enabled"}
NOTICE_PRIORITY = {"URGENT": "URGENT", "CRITICAL": "URGENT", "WARNING": "HIGH"}


@dataclass
class OutboxLink:
    """The app database holding the outbox, its channels (alerts.yaml) and their settings
    (the `alert_channels` resource)."""

    engine: sa.Engine
    config: OutboxConfig
    channels: ChannelsResource
    clock: Callable[[], float] = time.time
    _ready: bool = field(default=False, repr=False)

    def enqueue(self, key: str, channel: str, title: str, body: str) -> bool:
        if not self._ready:
            ensure_tables(self.engine)
            self._ready = True
        with self.engine.begin() as conn:
            return enqueue(conn, Message(key, channel, "pms_alert", title, body), self.clock())

    def deliver(self) -> DeliverySummary:
        """The outbox's delivery over the channels of alerts.yaml."""
        return Delivery(self.engine, self.config.channels, self.channels, retry=self.config.retry_policy(),
                        clock=self.clock).run()


def _targets(user: dict) -> dict[str, str | None]:
    return {"SYSTEM": str(user["id"]), "EMAIL": user.get("email"), "WECHAT": user.get("username") or user.get("phone"),
            "SMS": user.get("phone"), "WEBHOOK": user.get("username")}


def _users(ctx: ServiceContext, ids) -> dict[int, dict]:
    ids = {int(i) for i in ids if i}
    if not ids:
        return {}
    u = t.users.c
    return {r["id"]: dict(r) for r in ctx.conn.execute(sa.select(t.users).where(u.id.in_(ids) & u.is_active.is_(True))).mappings()}


def _settings(ctx: ServiceContext, ids) -> dict[int, dict]:
    s = t.notification_settings.c
    return {r["user_id"]: dict(r) for r in ctx.conn.execute(sa.select(t.notification_settings).where(s.user_id.in_(list(ids)))).mappings()}


def candidate_ids(ctx: ServiceContext, alert: dict, rule: dict | None) -> list[int]:
    """The alert's named recipients, else the project PM, the handler and the rule's notify_users."""
    named = (alert.get("alert_data") or {}).get("recipients")
    ids = list(named) if named else [ctx.pm_of(alert["project_id"]), alert["handler_id"], *((rule or {}).get("notify_users") or [])]
    return [int(i) for i in ids if i]


def recipients(ctx: ServiceContext, ids: list[int], active: dict[int, dict]) -> list[dict]:
    """Active users among `ids`; the system user when nobody is left."""
    people = [active[i] for i in dict.fromkeys(ids) if i in active]
    fallback = ctx.config.system_user_id
    return people or [active.get(fallback, {"id": fallback})]


def queue_alert_notifications(ctx: ServiceContext, alert_ids: list[int] | None = None, limit: int = 500) -> tuple[int, int]:
    """Create the missing PENDING alert_notifications rows (one per alert, channel, target) for
    the given alerts, or for up to `limit` PENDING alerts without any, newest first (the old
    job took the 50 newest PENDING alerts, so older ones could wait forever behind them).
    Returns (alerts, rows)."""
    a, n = t.alert_records.c, t.alert_notifications.c
    query = sa.select(t.alert_records)
    if alert_ids is not None:
        query = query.where(a.id.in_(alert_ids))
    else:  # open alerts nobody was told about yet, newest first
        told = sa.select(n.id).where(n.alert_id == a.id).exists()
        query = query.where((a.status == "PENDING") & ~told).order_by(a.id.desc()).limit(limit)
    alerts = [dict(r) for r in ctx.conn.execute(query).mappings()]
    if not alerts:
        return 0, 0
    rules = {r["id"]: dict(r) for r in ctx.conn.execute(sa.select(t.alert_rules).where(
        t.alert_rules.c.id.in_({x["rule_id"] for x in alerts}))).mappings()}
    have = {(x.alert_id, x.notify_channel, x.notify_target) for x in ctx.conn.execute(
        sa.select(n.alert_id, n.notify_channel, n.notify_target).where(n.alert_id.in_([x["id"] for x in alerts])))}
    wanted = {x["id"]: candidate_ids(ctx, x, rules.get(x["rule_id"])) for x in alerts}
    active = _users(ctx, {i for ids in wanted.values() for i in ids} | {ctx.config.system_user_id})
    settings = _settings(ctx, list(active))
    rows: list[dict] = []
    for alert in alerts:
        rule = rules.get(alert["rule_id"])
        channels = [c.upper() for c in ((rule or {}).get("notify_channels") or ["SYSTEM"])]
        for person in recipients(ctx, wanted[alert["id"]], active):
            prefs = settings.get(person["id"], {})
            if prefs.get("alert_notifications") is False:
                continue
            for channel in channels:
                target = _targets(person).get(channel)
                if not target or prefs.get(CHANNEL_SETTING.get(channel, "")) is False or (alert["id"], channel, target) in have:
                    continue
                rows.append(dict(
                    alert_id=alert["id"], notify_channel=channel, notify_target=target, notify_user_id=person["id"],
                    notify_title=alert["alert_title"], notify_content=alert["alert_content"], status="PENDING",
                    retry_count=0, created_at=ctx.now, updated_at=ctx.now))
                have.add((alert["id"], channel, target))
    if rows:
        ctx.conn.execute(sa.insert(t.alert_notifications), rows)
    ctx.wrote("alert_notifications", len(rows))
    return len(alerts), len(rows)


def quiet_until(prefs: dict, now: datetime) -> datetime | None:
    """End of the user's quiet hours when `now` falls inside them (the window may wrap midnight)."""
    start, end = prefs.get("quiet_hours_start"), prefs.get("quiet_hours_end")
    if not start or not end:
        return None
    s, e = dtime.fromisoformat(start), dtime.fromisoformat(end)
    now_t = now.time()
    inside = s <= now_t < e if s <= e else (now_t >= s or now_t < e)
    if not inside:
        return None
    until = datetime.combine(now.date(), e)
    return until if until > now else until + timedelta(days=1)


def outbox_key(alert_no: str, notification_id: int, channel: str) -> str:
    """The outbox message of one notification row on one channel (as stored)."""
    return stored_key(f"pms:{alert_no}:{notification_id}:{channel}")


def message(alert: dict, target: str | None = None) -> tuple[str, str]:
    level = normalise_level(alert["alert_level"])
    title = f"[{level}] {alert['alert_title']}"
    lines = [f"**{alert['alert_title']}**", f"> 级别：{level}　编号：{alert['alert_no']}",
             f"> 对象：{alert['target_name'] or alert['target_no'] or alert['target_id']}"]
    if target:
        lines.append(f"> 接收人：@{target}")
    lines += ["", alert["alert_content"] or "", "", f"[查看预警]({ui_url()}/alerts/{alert['id']})"]
    return title, "\n".join(lines)


def system_notice(ctx: ServiceContext, user_id: int, alert: dict, title: str | None = None) -> None:
    ctx.conn.execute(sa.insert(t.notifications), dict(
        user_id=int(user_id), notification_type="ALERT", source_type="alert", source_id=alert["id"],
        title=(title or alert["alert_title"])[:200], content=alert["alert_content"], link_url=f"/alerts/{alert['id']}",
        priority=NOTICE_PRIORITY.get(normalise_level(alert["alert_level"]), "NORMAL"), is_read=False, created_at=ctx.now,
        extra_data={"alert_no": alert["alert_no"], "alert_level": alert["alert_level"], "target_type": alert["target_type"],
                    "target_name": alert["target_name"]}))
    ctx.wrote("notifications")


def dispatch_due(ctx: ServiceContext, link: OutboxLink | None, *, alert_ids: list[int] | None = None, limit: int = 1000) -> dict:
    """Hand due PENDING/FAILED rows on: SYSTEM into the inbox (SENT), the others to the outbox
    (QUEUED); a row inside the user's quiet hours waits for their end."""
    n = t.alert_notifications.c
    where = n.status.in_(("PENDING", "FAILED")) & (n.next_retry_at.is_(None) | (n.next_retry_at <= ctx.now))
    if alert_ids is not None:
        where &= n.alert_id.in_(alert_ids)
    rows = [dict(r) for r in ctx.conn.execute(sa.select(t.alert_notifications).where(where).order_by(n.id).limit(limit)).mappings()]
    alerts = {r["id"]: dict(r) for r in ctx.conn.execute(sa.select(t.alert_records).where(
        t.alert_records.c.id.in_({r["alert_id"] for r in rows}))).mappings()}
    settings = _settings(ctx, {r["notify_user_id"] for r in rows})
    counts = {"processed": len(rows), "sent": 0, "queued": 0, "waiting": 0, "abandoned": 0}
    updates = []
    for row in rows:
        alert = alerts.get(row["alert_id"])
        values: dict = {"nid": row["id"], "updated_at": ctx.now, "status": row["status"], "sent_at": row["sent_at"],
                        "error_message": row["error_message"], "next_retry_at": row["next_retry_at"]}
        outbox_names = ctx.config.outbox_channels.get(row["notify_channel"], [])
        if alert is None:
            values.update(status="ABANDONED", error_message="Alert or user not found")
            counts["abandoned"] += 1
        elif row["notify_channel"] == "SYSTEM":
            system_notice(ctx, row["notify_user_id"], alert)
            values.update(status="SENT", sent_at=ctx.now, error_message=None)
            counts["sent"] += 1
        elif (until := quiet_until(settings.get(row["notify_user_id"], {}), ctx.now)) is not None:
            values.update(next_retry_at=until)
            counts["waiting"] += 1
        elif link is None or not outbox_names:
            values.update(status="ABANDONED", error_message=f"no outbox channel for {row['notify_channel']} in pms.yaml")
            counts["abandoned"] += 1
        else:
            title, body = message(alert, row["notify_target"])
            for name in outbox_names:
                link.enqueue(outbox_key(alert["alert_no"], row["id"], name), name, title, body)
            values.update(status="QUEUED")
            counts["queued"] += 1
        updates.append(values)
    if updates:
        ctx.conn.execute(sa.update(t.alert_notifications).where(n.id == sa.bindparam("nid")).values(
            {c: sa.bindparam(c) for c in ("updated_at", "status", "sent_at", "error_message", "next_retry_at")}), updates)
    ctx.wrote("alert_notifications", len(rows))
    return counts


def sync_from_outbox(ctx: ServiceContext, link: OutboxLink) -> dict:
    """Copy the outbox's outcome onto QUEUED/FAILED rows: all of a row's messages sent ->
    SENT; a failed attempt -> FAILED with the attempts as retry_count and the next attempt
    time; a message the outbox gave up on -> ABANDONED."""
    n = t.alert_notifications.c
    rows = ctx.conn.execute(sa.select(n.id, n.alert_id, n.notify_channel, n.retry_count).where(
        n.status.in_(("QUEUED", "FAILED")))).all()
    if not rows:
        return {"sent": 0, "failed": 0, "abandoned": 0}
    numbers = dict(ctx.conn.execute(sa.select(t.alert_records.c.id, t.alert_records.c.alert_no).where(
        t.alert_records.c.id.in_({r.alert_id for r in rows}))).all())
    keys = {r.id: [outbox_key(numbers.get(r.alert_id, "?"), r.id, name)
                   for name in ctx.config.outbox_channels.get(r.notify_channel, [])] for r in rows}
    with link.engine.connect() as conn:
        found = {x.dedupe_key: x for x in conn.execute(sa.select(messages).where(
            messages.c.dedupe_key.in_([k for ks in keys.values() for k in ks])))}
    counts = {"sent": 0, "failed": 0, "abandoned": 0}
    for r in rows:
        msgs = [found[k] for k in keys[r.id] if k in found]
        if not msgs:
            continue
        if all(m.status == SENT for m in msgs):
            values = dict(status="SENT", sent_at=datetime.fromtimestamp(max(m.sent_at for m in msgs), tz=ctx.tz).replace(tzinfo=None),
                          error_message=None, retry_count=max(m.attempts for m in msgs) - 1)
            counts["sent"] += 1
        elif any(m.status == FAILED for m in msgs):
            values = dict(status="ABANDONED", error_message=next(m.last_error for m in msgs if m.status == FAILED))
            counts["abandoned"] += 1
        elif any(m.attempts for m in msgs):
            pending = [m for m in msgs if m.status != SENT]
            values = dict(status="FAILED", retry_count=max(m.attempts for m in pending),
                          error_message=next((m.last_error for m in pending if m.last_error), None),
                          next_retry_at=datetime.fromtimestamp(min(m.next_attempt_at for m in pending), tz=ctx.tz).replace(tzinfo=None))
            counts["failed"] += 1
        else:
            continue
        ctx.conn.execute(sa.update(t.alert_notifications).where(n.id == r.id).values(updated_at=ctx.now, **values))
    return counts


def deliver(link: OutboxLink) -> DeliverySummary:
    """The outbox's delivery: every due message, within the channels' rate limits, with retries."""
    return link.deliver()
