"""Project health: the hourly calculation that saves it, and the daily snapshot."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import OPEN_STATUSES, ServiceContext, as_date
from yd_platform.pms.services import service

HEALTH_SCORE = {"H1": 100, "H2": 70, "H3": 30, "H4": 0}
OPEN_ISSUE = ("OPEN", "IN_PROGRESS")


def _project_ids(ctx: ServiceContext, query) -> set:
    return {pid for pid in ctx.conn.execute(query).scalars() if pid is not None}


def health_signals(ctx: ServiceContext) -> dict[str, set | dict]:
    """Per-project facts the health rules look at, each read in one query."""
    k, i, m, a, r = t.tasks.c, t.issues.c, t.project_milestones.c, t.alert_records.c, t.alert_rules.c
    shortage = Counter()
    for pid, level in ctx.conn.execute(sa.select(a.project_id, a.alert_level).join(t.alert_rules, r.id == a.rule_id)
                                       .where((r.rule_type == "MATERIAL_SHORTAGE") & (a.status == "PENDING"))):
        shortage[(pid, level)] += 1
    return {
        "blocked_task": _project_ids(ctx, sa.select(k.project_id).where(k.status == "BLOCKED").distinct()),
        "blocker_issue": _project_ids(ctx, sa.select(i.project_id).where((i.issue_type == "BLOCKER") & i.status.in_(OPEN_ISSUE)).distinct()),
        "high_issue": _project_ids(ctx, sa.select(i.project_id).where(i.priority.in_(("HIGH", "URGENT")) & i.status.in_(OPEN_ISSUE)).distinct()),
        "key_overdue": _project_ids(ctx, sa.select(m.project_id).where(
            m.is_key.is_(True) & (m.planned_date < ctx.today) & (m.status != "COMPLETED")).distinct()),
        "shortage_severe": {pid for (pid, lvl) in shortage if lvl in ("CRITICAL", "URGENT")},
        "shortage_warning": {pid for (pid, lvl) in shortage if lvl == "WARNING"},
    }


def schedule_lag(project: dict, today: date) -> float | None:
    start, end = as_date(project["planned_start_date"]), as_date(project["planned_end_date"])
    if not start or not end or end <= start:
        return None
    planned = min(max((today - start).days / (end - start).days * 100, 0.0), 100.0)
    return planned - float(project["progress_pct"] or 0)


def project_health(project: dict, signals: dict, today: date) -> str:
    """H4 finished or cancelled; H3 blocked (status, task, blocker issue, severe shortage);
    H2 at risk (rework, ending within 7 days, key milestone overdue, shortage warning, urgent
    issue, more than 10 points behind plan); otherwise H1. Shortage alerts count by their
    normalised level: CRITICAL and URGENT block, WARNING is a risk."""
    pid, status = project["id"], project["status"]
    if status in ("ST30", "ST99"):
        return "H4"
    if status in ("ST14", "ST19") or any(pid in signals[s] for s in ("blocked_task", "blocker_issue", "shortage_severe")):
        return "H3"
    end = as_date(project["planned_end_date"])
    lag = schedule_lag(project, today)
    if (status in ("ST22", "ST26") or (end is not None and 0 <= (end - today).days <= 7)
            or any(pid in signals[s] for s in ("key_overdue", "shortage_warning", "high_issue"))
            or (lag is not None and lag > 10)):
        return "H2"
    return "H1"


def save_health(ctx: ServiceContext, projects: list[dict]) -> dict[int, str]:
    """Compute and store every project's health; a change is logged in project_status_logs.
    Missing plan dates or progress leave the schedule lag out; no status is no status rule."""
    signals = health_signals(ctx)
    result, changed = {}, 0
    for p in projects:
        with ctx.row("projects", p):
            new = project_health(p, signals, ctx.today)
            result[p["id"]] = new
            if new == p["health"]:
                continue
            ctx.conn.execute(sa.update(t.projects).where(t.projects.c.id == p["id"]).values(health=new))
            ctx.conn.execute(sa.insert(t.project_status_logs).values(
                project_id=p["id"], old_stage=p["stage"], new_stage=p["stage"], old_status=p["status"],
                new_status=p["status"], old_health=p["health"], new_health=new, change_type="HEALTH_AUTO_CALCULATED",
                changed_by=None, changed_at=ctx.now, change_note=f"系统自动计算健康度：{p['health']} -> {new}"))
            changed += 1
    ctx.wrote("projects", changed)
    ctx.wrote("project_status_logs", changed)
    return result


@service("calculate_project_health")
def calculate_project_health(ctx: ServiceContext) -> dict:
    """Saves the health it computes (the old job computed it with saving switched off)."""
    p = t.projects.c
    projects = [dict(r) for r in ctx.conn.execute(sa.select(t.projects).where(
        p.is_active.is_(True) & sa.not_(sa.func.coalesce(p.is_archived, False)))).mappings()]
    before = {x["id"]: x["health"] for x in projects}
    after = save_health(ctx, projects)
    updated = sum(1 for pid, h in after.items() if before[pid] != h)
    return {"total": len(projects), "updated": updated, "unchanged": len(projects) - updated,
            "by_health": dict(Counter(after.values()))}


@service("daily_health_snapshot")
def daily_health_snapshot(ctx: ServiceContext) -> dict:
    """Health of every active project (archived ones included) saved, then one snapshot row
    per project for the day, with open alerts, blocking issues and delayed milestones; a
    re-run of the day replaces its rows."""
    p, a, i, m = t.projects.c, t.alert_records.c, t.issues.c, t.project_milestones.c
    projects = [dict(r) for r in ctx.conn.execute(sa.select(t.projects).where(p.is_active.is_(True))).mappings()]
    health = save_health(ctx, projects)
    count = lambda q: dict(ctx.conn.execute(q).all())  # noqa: E731
    open_alerts = count(sa.select(a.project_id, sa.func.count()).where(a.status.in_(OPEN_STATUSES)).group_by(a.project_id))
    blocking = count(sa.select(i.project_id, sa.func.count()).where(i.status.in_(OPEN_ISSUE) & i.is_blocking.is_(True)).group_by(i.project_id))
    delayed = count(sa.select(m.project_id, sa.func.count()).where((m.planned_date < ctx.today) & (m.status != "COMPLETED")).group_by(m.project_id))
    on_track = count(sa.select(m.project_id, sa.func.count()).where((m.planned_date >= ctx.today) | (m.status == "COMPLETED")).group_by(m.project_id))
    day = ctx.report_day
    snap = t.project_health_snapshots
    ctx.conn.execute(sa.delete(snap).where(snap.c.snapshot_date == day))
    rows = []
    for proj in projects:
        if proj["id"] not in health:  # its health could not be computed: named in the skipped rows
            continue
        h, pid = health[proj["id"]], proj["id"]
        budget = float(proj["budget_amount"] or 0)
        lag = schedule_lag(proj, ctx.today)
        rows.append(dict(project_id=pid, snapshot_date=day, overall_health=h, schedule_health=h, cost_health=h,
                         quality_health=h, resource_health=h, health_score=HEALTH_SCORE[h],
                         open_alerts=open_alerts.get(pid, 0), open_exceptions=0, blocking_issues=blocking.get(pid, 0),
                         schedule_variance=round(lag, 2) if lag is not None else None,
                         milestone_on_track=on_track.get(pid, 0), milestone_delayed=delayed.get(pid, 0),
                         cost_variance=float(proj["actual_cost"] or 0) - budget if budget else None,
                         budget_used_pct=round(float(proj["actual_cost"] or 0) / budget * 100, 2) if budget else None,
                         top_risks=[]))
    if rows:
        ctx.conn.execute(sa.insert(snap), rows)
    ctx.wrote("project_health_snapshots", len(rows))
    return {"snapshot_date": str(day), "projects": len(rows), "by_health": dict(Counter(health.values()))}
