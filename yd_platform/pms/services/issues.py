"""Issue services: overdue and blocking alerts, priority escalation, the daily statistics."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, as_date, lateness_level
from yd_platform.pms.services import service

OPEN_ISSUE = ("OPEN", "IN_PROGRESS")
NEXT_PRIORITY = {"LOW": "MEDIUM", "MEDIUM": "HIGH", "HIGH": "URGENT"}
# days an open issue of each priority may stay untouched before check_issue_timeout_escalation raises it
PRIORITY_TIMEOUT_DAYS = {"LOW": 14, "MEDIUM": 7, "HIGH": 3}
STALE_DAYS = 7


@service("check_overdue_issues")
def check_overdue_issues(ctx: ServiceContext) -> dict:
    """Open issues whose due date has passed (due today is not overdue yet); an open issue
    without a due date is named as skipped."""
    i = t.issues.c
    rows = ctx.read(sa.select(t.issues).where(i.status.in_(OPEN_ISSUE)), need={i.due_date: i.due_date < ctx.today})
    for r in rows:
        with ctx.row("issues", r):
            k = (ctx.today - as_date(r["due_date"])).days
            ctx.raise_alert("ISSUE_OVERDUE", target_id=r["id"], level=lateness_level(k), prefix="IO",
                            title=f"问题逾期预警：{r['title']}", target_no=r["issue_no"], target_name=r["title"],
                            project_id=r["project_id"], content=f"问题已逾期 {k} 天，要求完成日期 {r['due_date']}，当前状态 {r['status']}",
                            trigger_value=k, threshold_value=0, recipients=[r["assignee_id"], ctx.pm_of(r["project_id"])])
    return {"checked": len(rows)}


@service("check_blocking_issues")
def check_blocking_issues(ctx: ServiceContext) -> dict:
    """Open issues that block work: is_blocking set or of type BLOCKER (the old code took
    URGENT priority instead, which is not the same thing)."""
    i = t.issues.c
    rows = ctx.conn.execute(sa.select(t.issues).where(
        i.status.in_(OPEN_ISSUE) & ((i.is_blocking.is_(True)) | (i.issue_type == "BLOCKER")))).mappings().all()
    for r in rows:
        with ctx.row("issues", r):
            age = (ctx.now - r["created_at"]).days if r["created_at"] else 0
            ctx.raise_alert("BLOCKING_ISSUE", target_id=r["id"], level="CRITICAL", prefix="IB",
                            title=f"阻塞问题预警：{r['title']}", target_no=r["issue_no"], target_name=r["title"],
                            project_id=r["project_id"],
                            content=f'阻塞问题 "{r["title"]}" 已存在 {age} 天。{(r["description"] or "")[:100]}',
                            trigger_value=age, threshold_value=0, recipients=[r["assignee_id"], ctx.pm_of(r["project_id"])])
    return {"checked": len(rows)}


def _bump(ctx: ServiceContext, issue: dict, reason: str) -> bool:
    new = NEXT_PRIORITY.get((issue["priority"] or "MEDIUM").upper())
    if new is None:
        return False
    ctx.conn.execute(sa.update(t.issues).where(t.issues.c.id == issue["id"]).values(priority=new, updated_at=ctx.now))
    ctx.conn.execute(sa.insert(t.issue_follow_up_records).values(
        issue_id=issue["id"], follow_up_type="STATUS_CHANGE", content=f"{reason}，问题超时自动升级优先级至 {new}",
        operator_id=ctx.config.system_user_id, operator_name="系统", old_status=issue["status"], new_status=issue["status"]))
    ctx.wrote("issues")
    ctx.wrote("issue_follow_up_records")
    return True


@service("check_issue_timeout_escalation")
def check_issue_timeout_escalation(ctx: ServiceContext) -> dict:
    """Raise the priority of issues untouched longer than their priority allows. The clock is
    the last update (a raise is an update), so an issue climbs one step per timeout, not one
    per night as when it was measured from created_at."""
    i = t.issues.c
    rows = ctx.conn.execute(sa.select(t.issues).where(i.status.in_(OPEN_ISSUE + ("REOPENED",)))).mappings().all()
    raised = 0
    for r in rows:
        with ctx.row("issues", r):
            limit = PRIORITY_TIMEOUT_DAYS.get((r["priority"] or "MEDIUM").upper())
            since = r["updated_at"] or r["created_at"]
            if limit is not None and since and ctx.now - since > timedelta(days=limit):
                raised += _bump(ctx, dict(r), f"{limit} 天未处理")
    return {"checked": len(rows), "escalated": raised}


@service("check_timeout_issues")
def check_timeout_issues(ctx: ServiceContext) -> dict:
    """Open issues untouched for 7 days go up one priority, with a follow-up row written by
    the system user (the old insert left operator_id NULL and failed)."""
    i = t.issues.c
    rows = ctx.conn.execute(sa.select(t.issues).where(
        i.status.in_(OPEN_ISSUE) & (i.updated_at < ctx.now - timedelta(days=STALE_DAYS)))).mappings().all()
    raised = 0
    for r in rows:
        with ctx.row("issues", r):
            raised += _bump(ctx, dict(r), f"{STALE_DAYS} 天未更新")
    return {"checked": len(rows), "escalated": raised}


@service("daily_issue_statistics_snapshot")
def daily_issue_statistics_snapshot(ctx: ServiceContext) -> dict:
    """All counters of the day's issue snapshot; re-running the day replaces its row."""
    day = ctx.report_day
    start, end = datetime.combine(day, datetime.min.time()), datetime.combine(day + timedelta(days=1), datetime.min.time())
    rows = ctx.conn.execute(sa.select(t.issues)).mappings().all()
    status = Counter((r["status"] or "").upper() for r in rows)
    severity = Counter((r["severity"] or "").upper() for r in rows)
    priority = Counter((r["priority"] or "MEDIUM").upper() for r in rows)
    kind = Counter((r["issue_type"] or "").upper() for r in rows)
    open_rows = [r for r in rows if r["status"] in OPEN_ISSUE]
    values = dict(
        snapshot_date=day, total_issues=len(rows), open_issues=status["OPEN"], processing_issues=status["IN_PROGRESS"],
        resolved_issues=status["RESOLVED"], closed_issues=status["CLOSED"], cancelled_issues=status["CANCELLED"],
        deferred_issues=status["DEFERRED"], critical_issues=severity["CRITICAL"], major_issues=severity["MAJOR"],
        minor_issues=severity["MINOR"], urgent_issues=priority["URGENT"], high_priority_issues=priority["HIGH"],
        medium_priority_issues=priority["MEDIUM"], low_priority_issues=priority["LOW"], defect_issues=kind["DEFECT"],
        risk_issues=kind["RISK"], blocker_issues=kind["BLOCKER"],
        blocking_issues=sum(1 for r in open_rows if r["is_blocking"]),
        overdue_issues=sum(1 for r in open_rows if r["due_date"] and as_date(r["due_date"]) < day),
        project_issues=sum(1 for r in rows if r["project_id"]), task_issues=0, acceptance_issues=0,
        new_issues_today=sum(1 for r in rows if r["created_at"] and start <= r["created_at"] < end),
        resolved_today=sum(1 for r in rows if r["status"] == "RESOLVED" and r["updated_at"] and start <= r["updated_at"] < end),
        closed_today=sum(1 for r in rows if r["status"] == "CLOSED" and r["updated_at"] and start <= r["updated_at"] < end),
        status_distribution=dict(status), severity_distribution=dict(severity), priority_distribution=dict(priority),
        category_distribution=dict(kind),
        project_distribution={str(k): v for k, v in Counter(r["project_id"] for r in rows if r["project_id"]).items()},
        created_at=ctx.now, updated_at=ctx.now)
    snap = t.issue_statistics_snapshots
    ctx.conn.execute(sa.delete(snap).where(snap.c.snapshot_date == day))
    ctx.conn.execute(sa.insert(snap).values(**values))
    ctx.wrote("issue_statistics_snapshots")
    return {"snapshot_date": str(day), "total": len(rows), "open": status["OPEN"], "overdue": values["overdue_issues"]}
