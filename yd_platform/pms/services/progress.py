"""Milestones, tasks, workload, progress and job-duty tasks."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, as_date, lateness_level
from yd_platform.pms.services import service

MONTH_HOURS = 176.0
HOURS_PER_TASK_DAY = 8.0


def _open_milestones(ctx: ServiceContext, scope, due) -> list[dict]:
    """Milestones in `scope` whose planned date meets `due`; those without a planned date are
    named as skipped (nobody can say whether they are due)."""
    m = t.project_milestones.c
    return ctx.read(sa.select(t.project_milestones).where(scope).order_by(m.id), need={m.planned_date: due})


@service("check_milestone_alerts")
def check_milestone_alerts(ctx: ServiceContext) -> dict:
    """Due in 0-3 days or overdue, not completed; cancelled milestones are left out (the old
    filter alerted them too). One new alert per milestone and day while it stays open."""
    m = t.project_milestones.c
    rows = _open_milestones(ctx, m.status.not_in(("COMPLETED", "CANCELLED")), m.planned_date <= ctx.today + timedelta(days=3))
    for r in rows:
        with ctx.row("project_milestones", r):
            d = (as_date(r["planned_date"]) - ctx.today).days
            common = dict(target_id=r["id"], prefix="MS", target_no=r["milestone_code"], target_name=r["milestone_name"],
                          project_id=r["project_id"], dedupe="today", recipients=[r["owner_id"], ctx.pm_of(r["project_id"])],
                          notify_now=True)
            data = {"milestone_type": r["milestone_type"], "is_key": bool(r["is_key"])}
            if d >= 0:
                ctx.raise_alert("MILESTONE_DUE_SOON", level="CRITICAL" if d <= 1 else "WARNING",
                                title=f"{'紧急' if d <= 1 else ''}里程碑即将到期：{r['milestone_name']}",
                                content=f"项目 {ctx.project_name(r['project_id'])} 的里程碑 {r['milestone_name']} 将于 {r['planned_date']} 到期（剩余 {d} 天）",
                                trigger_value=d, threshold_value=3,
                                data=data | {"days_left": d, "alert_category": "MILESTONE_DUE_SOON"}, **common)
            else:
                ctx.raise_alert("MILESTONE_OVERDUE", level="CRITICAL", title=f"里程碑已逾期：{r['milestone_name']}",
                                content=f"项目 {ctx.project_name(r['project_id'])} 的里程碑 {r['milestone_name']} 计划 {r['planned_date']}，已逾期 {-d} 天",
                                trigger_value=-d, threshold_value=0,
                                data=data | {"days_overdue": -d, "alert_category": "MILESTONE_OVERDUE"}, **common)
    return {"checked": len(rows)}


def phase_gap(phase: dict | None, today: date) -> float | None:
    """Expected progress (share of the phase's days elapsed) minus the reported progress."""
    if not phase or phase["progress"] is None or not phase["plan_start_date"] or not phase["plan_end_date"]:
        return None
    start, end = as_date(phase["plan_start_date"]), as_date(phase["plan_end_date"])
    total = (end - start).days
    expected = 100.0 if total <= 0 else min(max((today - start).days / total * 100, 0.0), 100.0)
    return expected - float(phase["progress"])


def milestone_risk(r: dict, today: date, has_overdue_before: bool, phase: dict | None) -> tuple[float, list[str]]:
    score, reasons = 0.0, []
    d = (as_date(r["planned_date"]) - today).days
    if has_overdue_before:
        score += 0.35
        reasons.append("前置里程碑已逾期")
    if r["status"] == "PENDING" and d <= 14:
        score += 0.30 if d <= 7 else 0.15
        reasons.append(f"{d} 天后到期仍未开始")
    gap = phase_gap(phase, today)
    if gap is not None and gap > 10:
        score += 0.25 if gap > 20 else 0.10
        reasons.append(f"阶段进度落后 {gap:.0f} 个百分点")
    if r["is_key"] and score > 0:
        score = min(score * 1.2, 1.0)
    return round(score, 2), reasons


@service("check_milestone_risk_alerts")
def check_milestone_risk_alerts(ctx: ServiceContext) -> dict:
    m, ph = t.project_milestones.c, t.pmo_project_phase.c
    rows = _open_milestones(ctx, m.status.in_(("PENDING", "IN_PROGRESS")),
                            (m.planned_date > ctx.today + timedelta(days=3)) & (m.planned_date <= ctx.today + timedelta(days=14)))
    projects = {r["project_id"] for r in rows}
    overdue = defaultdict(list)
    for pid, planned in ctx.conn.execute(sa.select(m.project_id, m.planned_date).where(
            m.project_id.in_(projects) & (m.planned_date < ctx.today) & (m.status != "COMPLETED"))):
        overdue[pid].append(as_date(planned))
    phases = {(r["project_id"], r["phase_code"]): dict(r) for r in ctx.conn.execute(
        sa.select(t.pmo_project_phase).where(ph.project_id.in_(projects))).mappings()}
    alerted = 0
    for r in rows:
        with ctx.row("project_milestones", r):
            planned = as_date(r["planned_date"])
            score, reasons = milestone_risk(r, ctx.today, any(o < planned for o in overdue[r["project_id"]]),
                                            phases.get((r["project_id"], r["stage_code"])) if r["stage_code"] else None)
            if score < 0.60:
                continue
            d = (planned - ctx.today).days
            alerted += ctx.raise_alert(
                "MILESTONE_AT_RISK", target_id=r["id"], level="CRITICAL" if score >= 0.80 else "WARNING", prefix="MR",
                title=f"里程碑存在延期风险：{r['milestone_name']}", target_no=r["milestone_code"],
                target_name=r["milestone_name"], project_id=r["project_id"], dedupe="today",
                content=f"风险评分 {score:.2f}：" + "；".join(reasons), trigger_value=f"{score:.2f}", threshold_value="0.60",
                data={"risk_score": score, "risk_reasons": reasons, "days_left": d, "milestone_status": r["status"]},
                recipients=[r["owner_id"], ctx.pm_of(r["project_id"])], notify_now=True) is not None
    return {"checked": len(rows), "at_risk": alerted}


@service("check_task_delay_alerts")
def check_task_delay_alerts(ctx: ServiceContext) -> dict:
    k = t.tasks.c
    rows = ctx.read(sa.select(t.tasks).where(k.status.not_in(("DONE", "CANCELLED"))), need={k.plan_end: k.plan_end < ctx.today})
    for r in rows:
        with ctx.row("tasks", r):
            late = (ctx.today - as_date(r["plan_end"])).days
            ctx.raise_alert("TASK_DELAY", target_id=r["id"], level=lateness_level(late), prefix="TD",
                            title=f"任务延期：{r['task_name']}", target_no=r["task_name"], target_name=r["task_name"],
                            project_id=r["project_id"], content=f"任务 {r['task_name']} 计划 {r['plan_end']} 完成，已延期 {late} 天",
                            trigger_value=late, threshold_value=0, recipients=[r["owner_id"], ctx.pm_of(r["project_id"])],
                            notify_now=True)
    return {"checked": len(rows)}


@service("check_workload_overload_alerts")
def check_workload_overload_alerts(ctx: ServiceContext) -> dict:
    """Assigned hours in the next 30 days against 176 h per person. A task or allocation
    without its start or end date cannot be placed in the window and is named as skipped;
    an allocation without planned hours adds none."""
    end = ctx.today + timedelta(days=30)
    k, a, u = t.tasks.c, t.pmo_resource_allocation.c, t.users.c
    hours: dict[int, float] = defaultdict(float)
    tasks = ctx.read(sa.select(k.id, k.owner_id, k.plan_start, k.plan_end).where(
        (sa.func.coalesce(k.status, "") != "CANCELLED") & k.owner_id.is_not(None)),
        need={k.plan_start: k.plan_start <= end, k.plan_end: k.plan_end >= ctx.today})
    for r in tasks:
        with ctx.row("tasks", r):
            hours[r["owner_id"]] += max((as_date(r["plan_end"]) - as_date(r["plan_start"])).days + 1, 0) * HOURS_PER_TASK_DAY
    allocations = ctx.read(sa.select(a.id, a.resource_id, a.planned_hours).where(
        (sa.func.coalesce(a.status, "") != "CANCELLED") & a.resource_id.is_not(None)),
        need={a.start_date: a.start_date <= end, a.end_date: a.end_date >= ctx.today})
    for r in allocations:
        with ctx.row("pmo_resource_allocation", r):
            hours[r["resource_id"]] += float(r["planned_hours"] or 0)
    users = ctx.conn.execute(sa.select(u.id, u.username, u.real_name).where(u.is_active.is_(True))).all()
    overloaded = 0
    for uid, username, real_name in users:
        rate = round(hours.get(uid, 0.0) / MONTH_HOURS * 100, 1)
        if rate <= 110:
            continue
        overloaded += 1
        ctx.raise_alert("WORKLOAD_OVERLOAD", target_id=uid, level="WARNING" if rate <= 150 else "CRITICAL", prefix="WO",
                        title=f"负荷超限：{real_name or username}", target_no=username, target_name=real_name,
                        content=f"未来 30 天已分配 {hours[uid]:g} 小时，负荷率 {rate:g}%（标准 {MONTH_HOURS:g} 小时）",
                        trigger_value=rate, threshold_value=110, recipients=[uid])
    return {"users": len(users), "overloaded": overloaded}


@service("check_task_deadline_reminder")
def check_task_deadline_reminder(ctx: ServiceContext) -> dict:
    k = t.task_unified.c
    rows = ctx.read(sa.select(t.task_unified).where(k.status.not_in(("COMPLETED", "CANCELLED"))),
                    need={k.deadline: (k.deadline > ctx.now) & (k.deadline <= ctx.now + timedelta(hours=24))})
    for r in rows:
        with ctx.row("task_unified", r):
            left = int((r["deadline"] - ctx.now).total_seconds() // 3600)
            ctx.raise_alert("TASK_DEADLINE_REMINDER", target_id=r["id"], level="INFO", prefix="TR", dedupe="24h",
                            title=f"任务即将到期：{r['title']}", target_no=r["task_code"], target_name=r["title"],
                            project_id=r["project_id"],
                            content=f"任务 {r['title']} 将于 {r['deadline']:%Y-%m-%d %H:%M} 到期（剩余 {left} 小时）",
                            trigger_value=left, threshold_value=24, recipients=[r["assignee_id"]])
    return {"checked": len(rows)}


@service("calculate_progress_summary")
def calculate_progress_summary(ctx: ServiceContext) -> dict:
    """progress_pct = 0.6 x share of DONE tasks + 0.4 x share of COMPLETED milestones."""
    k, m, p = t.tasks.c, t.project_milestones.c, t.projects.c
    task_rates = {pid: (done, total) for pid, done, total in ctx.conn.execute(
        sa.select(k.project_id, sa.func.sum(sa.case((k.status == "DONE", 1), else_=0)), sa.func.count())
        .group_by(k.project_id))}
    ms_rates = {pid: (done, total) for pid, done, total in ctx.conn.execute(
        sa.select(m.project_id, sa.func.sum(sa.case((m.status == "COMPLETED", 1), else_=0)), sa.func.count())
        .group_by(m.project_id))}
    updated = 0
    # a task or milestone without a status counts as not done; one without a project counts for none
    active = ctx.conn.execute(sa.select(p.id, p.progress_pct).where(p.is_active.is_(True))).all()
    for pid, old in active:
        if pid not in task_rates and pid not in ms_rates:
            continue
        tr = _share(task_rates.get(pid))
        mr = _share(ms_rates.get(pid))
        progress = round(0.6 * tr + 0.4 * mr, 2)
        if old is None or abs(float(old) - progress) >= 0.005:
            ctx.conn.execute(sa.update(t.projects).where(p.id == pid).values(progress_pct=progress))
            updated += 1
    ctx.wrote("projects", updated)
    return {"projects": len(active), "updated": updated}


def _share(pair) -> float:
    if not pair or not pair[1]:
        return 0.0
    return float(pair[0] or 0) / pair[1] * 100


# the template columns a frequency cannot do without
DUTY_SCHEDULE_COLUMNS = {"WEEKLY": ("day_of_week",), "MONTHLY": ("day_of_month",), "YEARLY": ("month_of_year", "day_of_month")}


def duty_missing(tpl: dict) -> str | None:
    """The column whose NULL leaves the template without a schedule or without people."""
    if not tpl["frequency"]:
        return "frequency"
    for column in DUTY_SCHEDULE_COLUMNS.get(tpl["frequency"].upper(), ()) + ("department_id",):
        if tpl[column] is None:
            return column
    return None


def duty_target(tpl: dict, today: date) -> date | None:
    """The day the template's next task is for, when it is to be generated today (no
    generate_before_days: the default 3)."""
    before = tpl["generate_before_days"] if tpl["generate_before_days"] is not None else 3
    freq = (tpl["frequency"] or "").upper()
    if freq == "DAILY":
        return today + timedelta(days=before)
    if freq == "WEEKLY":
        delta = (tpl["day_of_week"] - today.weekday() - 1) % 7
        if delta == 0:
            return today + timedelta(days=before)
        return today + timedelta(days=delta) if delta <= before else None
    if freq in ("MONTHLY", "YEARLY"):
        year, month = today.year, tpl["month_of_year"] if freq == "YEARLY" else today.month
        day = min(tpl["day_of_month"], calendar.monthrange(year, month)[1])
        due = date(year, month, day)
        togo = (due - today).days
        if togo == 0:
            return today + timedelta(days=before)
        return due if 0 < togo <= before else None
    return None


@service("generate_job_duty_tasks")
def generate_job_duty_tasks(ctx: ServiceContext) -> dict:
    """Tasks for the active users of each template's department, a few days ahead. A template
    missing its frequency, the day its frequency needs, or its department is named as skipped."""
    j, k, u = t.job_duty_template.c, t.task_unified.c, t.users.c
    templates = ctx.conn.execute(sa.select(t.job_duty_template).where(
        j.is_active.is_(True) & j.auto_generate.is_(True))).mappings().all()
    stem = f"TASK-{ctx.today:%y%m%d}-"
    latest = ctx.conn.execute(sa.select(k.task_code).where(k.task_code.like(f"{stem}%")).order_by(
        sa.func.length(k.task_code).desc(), k.task_code.desc()).limit(1)).scalar()
    seq = int(latest[len(stem):]) if latest and latest[len(stem):].isdigit() else 0
    created = 0
    for tpl in templates:
        missing = duty_missing(tpl)
        if missing:
            ctx.skip("job_duty_template", tpl["id"], missing)
            continue
        with ctx.row("job_duty_template", tpl):
            target = duty_target(dict(tpl), ctx.today)
            if target is None or ctx.conn.execute(sa.select(k.id).where(
                    (k.task_type == "JOB_DUTY") & (k.source_type == "JOB_DUTY_TEMPLATE") & (k.source_id == tpl["id"])
                    & (k.plan_start_date == target)).limit(1)).first():
                continue
            deadline = datetime.combine(target + timedelta(days=tpl["deadline_offset_days"] or 0),
                                        datetime.max.time()).replace(microsecond=0)
            for uid, name in ctx.conn.execute(sa.select(u.id, u.real_name).where(
                    u.is_active.is_(True) & (u.department_id == tpl["department_id"])).order_by(u.id)):
                seq += 1
                ctx.conn.execute(sa.insert(t.task_unified).values(
                    task_code=f"{stem}{seq:03d}", title=tpl["duty_name"], description=tpl["duty_description"],
                    task_type="JOB_DUTY", source_type="JOB_DUTY_TEMPLATE", source_id=tpl["id"], assignee_id=uid,
                    assignee_name=name, assigner_id=ctx.config.system_user_id, assigner_name="系统",
                    plan_start_date=target, plan_end_date=target, deadline=deadline,
                    estimated_hours=tpl["estimated_hours"], status="PENDING", priority=tpl["default_priority"] or "MEDIUM",
                    is_urgent=False, tags=["岗位职责"], category="JOB_DUTY", reminder_enabled=True,
                    reminder_before_hours=24, created_by=ctx.config.system_user_id, created_at=ctx.now, updated_at=ctx.now))
                created += 1
    ctx.wrote("task_unified", created)
    return {"templates": len(templates), "created": created}
