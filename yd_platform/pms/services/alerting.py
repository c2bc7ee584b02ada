"""The alert machinery itself: escalation, the notification push and retry, response metrics."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import delivery
from yd_platform.pms import schema as t
from yd_platform.pms.config import LEVELS
from yd_platform.pms.context import OPEN_STATUSES, ServiceContext, normalise_level
from yd_platform.pms.services import service

ESCALATED_PREFIX = "[已升级]"


def next_level(level: str) -> str | None:
    """One step up the alert enum INFO < WARNING < CRITICAL < URGENT; None at the top."""
    i = LEVELS.index(level) if level in LEVELS else 0
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def escalation_due(alert: dict, hours: dict[str, float], now: datetime) -> str | None:
    """The level an open alert moves to now, if its current level has waited long enough.
    The wait restarts at every step (escalated_at), so an alert climbs one level per
    timeout instead of several in consecutive hourly runs."""
    level = normalise_level(alert["alert_level"])
    limit = hours.get(level)
    since = alert["escalated_at"] or alert["triggered_at"] or alert["created_at"]
    if limit is None or since is None or now - since < timedelta(hours=limit):
        return None
    return next_level(level)


@service("check_alert_escalation")
def check_alert_escalation(ctx: ServiceContext) -> dict:
    """Open alerts one level up after their level's wait (no level counts as INFO; the wait
    runs from escalated_at, else triggered_at, else created_at)."""
    a = t.alert_records.c
    rows = [dict(r) for r in ctx.conn.execute(sa.select(t.alert_records).where(
        a.status.in_(("PENDING", "ACKNOWLEDGED")) & (sa.func.coalesce(a.alert_level, "INFO") != "URGENT"))).mappings()]
    escalated = []
    for alert in rows:
        with ctx.row("alert_records", alert):
            new = escalation_due(alert, ctx.config.escalation_hours, ctx.now)
            if new is None:
                continue
            old = normalise_level(alert["alert_level"])
            data = dict(alert["alert_data"] or {})
            data["escalation_history"] = list(data.get("escalation_history") or []) + [
                {"from_level": old, "to_level": new, "escalated_at": ctx.now.isoformat(timespec="seconds"), "reason": "超时自动升级"}]
            pm = ctx.pm_of(alert["project_id"])
            title = alert["alert_title"] or alert["alert_no"]
            title = title if title.startswith(ESCALATED_PREFIX) else f"{ESCALATED_PREFIX}{title}"
            values = dict(alert_level=new, severity=new, alert_data=data, is_escalated=True, escalated_at=ctx.now,
                          escalated_to=alert["escalated_to"] or pm, alert_title=title[:200], updated_at=ctx.now,
                          handle_note=((alert["handle_note"] or "") + f"\n{ctx.now:%Y-%m-%d %H:%M} 超时自动升级 {old} -> {new}").strip())
            ctx.conn.execute(sa.update(t.alert_records).where(a.id == alert["id"]).values(**values))
            alert.update(values)
            escalated.append(alert)
            people = {alert["handler_id"], values["escalated_to"], alert["acknowledged_by"], pm} - {None}
            for uid in people or {ctx.config.system_user_id}:
                delivery.system_notice(ctx, uid, alert, title=f"预警已升级: {alert['alert_title']}")
            if ctx.outbox is not None:
                subject, body = delivery.message(alert)
                for name in ctx.config.outbox_channels.get("WECHAT", []):
                    ctx.outbox.enqueue(f"pms:{alert['alert_no']}:escalated:{new}:{name}", name, f"预警已升级 {subject}", body)
    ctx.alerts_escalated += len(escalated)
    ctx.wrote("alert_records", len(escalated))
    return {"checked": len(rows), "escalated": len(escalated), "errors": []}


@service("send_alert_notifications")
def send_alert_notifications(ctx: ServiceContext) -> dict:
    """Recipients for open alerts nobody was told about, then the due rows handed on, then the outbox delivers."""
    alerts, created = delivery.queue_alert_notifications(ctx)
    counts = delivery.dispatch_due(ctx, ctx.outbox)
    sent = counts["sent"]
    synced = {"sent": 0, "failed": 0, "abandoned": 0}
    if ctx.outbox is not None:
        delivery.deliver(ctx.outbox)
        synced = delivery.sync_from_outbox(ctx, ctx.outbox)
    return {"queued_alerts": alerts, "queue_created": created, "queued_from_alerts": counts["queued"],
            "sent_from_alerts": sent + synced["sent"], "failed_from_alerts": synced["failed"] + synced["abandoned"],
            "processed_notifications": counts["processed"], "queued_notifications": counts["queued"],
            "sent_count": sent + synced["sent"], "timestamp": ctx.now.isoformat(timespec="seconds")}


@service("retry_failed_notifications")
def retry_failed_notifications(ctx: ServiceContext) -> dict:
    """The outbox retries failed messages with its backoff; this runs its delivery and copies
    the outcome back. A row whose alert or user is gone is abandoned."""
    n, a, u = t.alert_notifications.c, t.alert_records.c, t.users.c
    failed = ctx.conn.execute(sa.select(n.id, n.alert_id, n.notify_user_id).where(n.status == "FAILED")).all()
    alerts = set(ctx.conn.execute(sa.select(a.id).where(a.id.in_({r.alert_id for r in failed}))).scalars())
    users = set(ctx.conn.execute(sa.select(u.id).where(u.id.in_({r.notify_user_id for r in failed}))).scalars())
    orphans = [r.id for r in failed if r.alert_id not in alerts or r.notify_user_id not in users]
    if orphans:
        ctx.conn.execute(sa.update(t.alert_notifications).where(n.id.in_(orphans)).values(
            status="ABANDONED", error_message="Alert or user not found", updated_at=ctx.now))
        ctx.wrote("alert_notifications", len(orphans))
    synced = {"sent": 0, "failed": 0, "abandoned": 0}
    if ctx.outbox is not None:
        delivery.deliver(ctx.outbox)
        synced = delivery.sync_from_outbox(ctx, ctx.outbox)
    return {"retry_count": len(failed) - len(orphans), "success_count": synced["sent"], "failed_count": synced["failed"],
            "abandoned_count": synced["abandoned"] + len(orphans), "timestamp": ctx.now.isoformat(timespec="seconds")}


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _stats(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "avg": None, "min": None, "max": None}
    return {"count": len(values), "avg": round(sum(values) / len(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def _distribution(values: list[float]) -> dict:
    buckets = Counter("<1h" if v < 1 else "1-4h" if v < 4 else "4-8h" if v < 8 else ">8h" for v in values)
    return {k: buckets.get(k, 0) for k in ("<1h", "1-4h", "4-8h", ">8h")}


def _ranking(groups: dict, key: str) -> dict:
    ranked = sorted(((k, round(sum(v) / len(v), 2)) for k, v in groups.items() if k is not None), key=lambda x: x[1])
    return {f"fastest_{key}": ranked[:5], f"slowest_{key}": ranked[::-1][:5]}


@service("calculate_response_metrics")
def calculate_response_metrics(ctx: ServiceContext) -> dict:
    """Response (triggered -> acknowledged) and resolution (acknowledged -> resolved) times
    of the day, and the day's alert_statistics row (replaced when re-run)."""
    day = ctx.report_day
    start, end = datetime.combine(day, datetime.min.time()), datetime.combine(day + timedelta(days=1), datetime.min.time())
    a = t.alert_records.c
    rows = [dict(r) for r in ctx.conn.execute(sa.select(t.alert_records).where(
        ((a.acknowledged_at >= start) & (a.acknowledged_at < end)) | ((a.handle_end_at >= start) & (a.handle_end_at < end))
        | ((a.triggered_at >= start) & (a.triggered_at < end)))).mappings()]
    response = [(r, _hours(r["acknowledged_at"] - r["triggered_at"])) for r in rows
                if r["acknowledged_at"] and r["triggered_at"] and start <= r["acknowledged_at"] < end]
    resolve = [(r, _hours(r["handle_end_at"] - r["acknowledged_at"])) for r in rows
               if r["handle_end_at"] and r["acknowledged_at"] and start <= r["handle_end_at"] < end]
    by = defaultdict(lambda: defaultdict(list))
    for r, h in response:
        by["level"][normalise_level(r["alert_level"])].append(h)
        by["project"][r["project_id"]].append(h)
        by["handler"][r["acknowledged_by"]].append(h)
    triggered = [r for r in rows if r["triggered_at"] and start <= r["triggered_at"] < end]
    levels = Counter(normalise_level(r["alert_level"]) for r in triggered)
    status = Counter(r["status"] for r in triggered)
    avg_response = _stats([h for _, h in response])["avg"]
    avg_resolve = _stats([h for _, h in resolve])["avg"]
    stats = t.alert_statistics
    ctx.conn.execute(sa.delete(stats).where((stats.c.stat_date == day) & (stats.c.stat_type == "DAILY")))
    ctx.conn.execute(sa.insert(stats).values(
        stat_date=day, stat_type="DAILY", total_alerts=len(triggered), info_alerts=levels["INFO"],
        warning_alerts=levels["WARNING"], critical_alerts=levels["CRITICAL"], urgent_alerts=levels["URGENT"],
        pending_alerts=sum(status[s] for s in OPEN_STATUSES if s != "PROCESSING"), processing_alerts=status["PROCESSING"],
        resolved_alerts=status["RESOLVED"] + status["CLOSED"], ignored_alerts=status["IGNORED"],
        avg_response_time=avg_response, avg_resolve_time=avg_resolve, created_at=ctx.now, updated_at=ctx.now))
    ctx.wrote("alert_statistics")
    return {"date": str(day), "total_alerts": len(triggered), "response": _stats([h for _, h in response]),
            "resolve": _stats([h for _, h in resolve]), "response_distribution": _distribution([h for _, h in response]),
            "resolve_distribution": _distribution([h for _, h in resolve]),
            "by_level": {k: _stats(v) for k, v in by["level"].items()},
            **_ranking(by["project"], "projects"), **_ranking(by["handler"], "handlers")}
