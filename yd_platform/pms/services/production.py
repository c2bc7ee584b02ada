"""Production plans, work reports, the production day report, equipment and ECN follow-up."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, as_date, as_datetime
from yd_platform.pms.services import service

EQUIPMENT_ROLES = ("EQUIPMENT_MANAGER", "设备管理员", "PRODUCTION_MANAGER", "生产经理")
WORKDAY_HOURS = 8.0


@service("check_production_plan_alerts")
def check_production_plan_alerts(ctx: ServiceContext) -> dict:
    """Executing plans under 80 % due within 7 days; no progress reported counts as 0 %, a
    plan without its end date is named as skipped."""
    p = t.production_plan.c
    rows = ctx.read(sa.select(t.production_plan).where((p.status == "EXECUTING") & (sa.func.coalesce(p.progress, 0) < 80)),
                    need={p.plan_end_date: p.plan_end_date <= ctx.today + timedelta(days=7)})
    for r in rows:
        with ctx.row("production_plan", r):
            d = (as_date(r["plan_end_date"]) - ctx.today).days
            ctx.raise_alert("PRODUCTION_PLAN", target_id=r["id"], level="CRITICAL" if d < 0 else "WARNING", prefix="PP",
                            title=f"生产计划进度预警：{r['plan_name']}", target_no=r["plan_no"], target_name=r["plan_name"],
                            project_id=r["project_id"],
                            content=f"生产计划 {r['plan_no']} 进度 {r['progress'] or 0}%，"
                                    + (f"已超期 {-d} 天" if d < 0 else f"距计划完成还有 {d} 天"),
                            trigger_value=r["progress"] or 0, threshold_value=80, notify_now=True)
    return {"checked": len(rows)}


@service("check_work_report_timeout")
def check_work_report_timeout(ctx: ServiceContext) -> dict:
    """Started or assigned orders with no work report for 24 h (the old filter named a status,
    IN_PROGRESS, that work orders never have, so started orders were missed). A started order
    with neither a work report time nor actual_start_time has no clock and is named as skipped;
    an assigned one that never started has none to expect."""
    w, rp = t.work_order.c, t.work_report.c
    last = sa.select(rp.work_order_id, sa.func.max(rp.report_time).label("at")).group_by(rp.work_order_id).subquery()
    rows = ctx.conn.execute(sa.select(w.id, w.work_order_no, w.task_name, w.project_id, w.status, w.actual_start_time, last.c.at)
                            .outerjoin(last, last.c.work_order_id == w.id)
                            .where(w.status.in_(("STARTED", "IN_PROGRESS", "ASSIGNED")))).mappings().all()
    late = 0
    for r in rows:
        with ctx.row("work_order", r):
            ref = as_datetime(r["at"]) or as_datetime(r["actual_start_time"])
            if ref is None and r["status"] != "ASSIGNED":
                ctx.skip("work_order", r["id"], "actual_start_time", "NULL (and no work report time)")
            if ref is None or ref > ctx.now - timedelta(hours=24):
                continue
            hours = int((ctx.now - ref).total_seconds() // 3600)
            late += 1
            ctx.raise_alert("WORK_REPORT_TIMEOUT", target_id=r["id"], level="WARNING", prefix="WT",
                            title=f"报工超时：{r['work_order_no']}", target_no=r["work_order_no"], target_name=r["task_name"],
                            project_id=r["project_id"], content=f"工单 {r['work_order_no']} 已 {hours} 小时未报工",
                            trigger_value=hours, threshold_value=24, notify_now=True)
    return {"checked": len(rows), "late": late}


def _pct(part: float, whole: float) -> float | None:
    return round(part / whole * 100, 2) if whole else None


@service("generate_production_daily_reports")
def generate_production_daily_reports(ctx: ServiceContext) -> dict:
    """Plant-wide and per-workshop rows for the partition's day (replaced when re-run): the
    orders created that day, that day's work reports, attendance and exceptions. Orders,
    reports and exceptions without their date belong to no day: counted nowhere, named as
    skipped. Missing quantities and hours add nothing; no workshop counts for the plant only."""
    day = ctx.report_day
    start, end = datetime.combine(day, datetime.min.time()), datetime.combine(day + timedelta(days=1), datetime.min.time())
    w, rp, wk, ex, ws = t.work_order.c, t.work_report.c, t.worker.c, t.production_exception.c, t.workshop.c
    for table, column in ((t.work_order, w.created_at), (t.work_report, rp.report_time), (t.production_exception, ex.report_time)):
        ctx.name_missing(sa.select(table), need=[column])
    orders = ctx.conn.execute(sa.select(w.workshop_id, w.status, w.plan_qty, w.completed_qty, w.standard_hours)
                              .where((w.created_at >= start) & (w.created_at < end))).all()
    reports = ctx.conn.execute(sa.select(w.workshop_id, rp.work_hours, rp.completed_qty, rp.qualified_qty)
                               .join(t.work_order, w.id == rp.work_order_id)
                               .where((rp.report_time >= start) & (rp.report_time < end))).all()
    workers = ctx.conn.execute(sa.select(wk.workshop_id, wk.status)).all()
    exceptions = ctx.conn.execute(sa.select(ex.workshop_id, ex.report_time, ex.resolved_at)).all()
    shops = [None] + list(ctx.conn.execute(sa.select(ws.id).where(ws.is_active.is_(True)).order_by(ws.id)).scalars())
    ctx.conn.execute(sa.delete(t.production_daily_report).where(t.production_daily_report.c.report_date == day))
    written = []
    for shop in shops:
        o, r, k, e = ([row for row in rows if shop is None or row[0] == shop]
                      for rows in (orders, reports, workers, exceptions))
        plan_qty = sum(x.plan_qty or 0 for x in o)
        completed = sum(x.completed_qty or 0 for x in o)
        plan_hours = sum(float(x.standard_hours or 0) for x in o)
        actual_hours = sum(float(x.work_hours or 0) for x in r)
        attend = sum(1 for x in k if x.status == "ACTIVE")
        total_qty = sum(x.completed_qty or 0 for x in r)
        qualified = sum(x.qualified_qty or 0 for x in r)
        row = dict(report_date=day, workshop_id=shop, plan_qty=plan_qty, completed_qty=completed,
                   completion_rate=_pct(completed, plan_qty), plan_hours=plan_hours, actual_hours=actual_hours,
                   overtime_hours=max(0.0, actual_hours - attend * WORKDAY_HOURS), efficiency=_pct(plan_hours, actual_hours),
                   should_attend=sum(1 for x in k if x.status in ("ACTIVE", "LEAVE")), actual_attend=attend,
                   leave_count=sum(1 for x in k if x.status == "LEAVE"), total_qty=total_qty, qualified_qty=qualified,
                   pass_rate=_pct(qualified, total_qty),
                   new_exception_count=sum(1 for x in e if x.report_time and start <= x.report_time < end),
                   resolved_exception_count=sum(1 for x in e if x.resolved_at and start <= x.resolved_at < end))
        row["summary"] = (f"{day} {'全厂' if shop is None else f'车间 {shop}'}：工单 {len(o)} 个，计划 {plan_qty} 件，"
                          f"完成 {completed} 件，报工 {actual_hours:g} 小时，合格率 {row['pass_rate'] or 0:g}%")
        if shop is not None and not (o or r or e):
            continue
        ctx.conn.execute(sa.insert(t.production_daily_report).values(**row))
        written.append(shop)
    ctx.wrote("production_daily_report", len(written))
    return {"report_date": str(day), "orders": len(orders), "rows": len(written)}


@service("check_equipment_maintenance_reminder")
def check_equipment_maintenance_reminder(ctx: ServiceContext) -> dict:
    """Equipment due for maintenance within 7 days, told to the equipment/production managers
    (the old code told the first five users it found, a placeholder). Equipment without a next
    maintenance date is named as skipped."""
    e = t.equipment.c
    rows = ctx.read(sa.select(t.equipment).where(e.is_active.is_(True)),
                    need={e.next_maintenance_date: (e.next_maintenance_date >= ctx.today)
                          & (e.next_maintenance_date <= ctx.today + timedelta(days=7))})
    recipients = ctx.role_users(*EQUIPMENT_ROLES) or [ctx.config.system_user_id]
    sent = 0
    for r in rows:
        with ctx.row("equipment", r):
            d = (as_date(r["next_maintenance_date"]) - ctx.today).days
            priority = "URGENT" if d <= 1 else "HIGH" if d <= 3 else "NORMAL"
            for uid in recipients:
                sent += ctx.notice(uid, "EQUIPMENT_MAINTENANCE_REMINDER", f"设备保养提醒：{r['equipment_name']}",
                                   f"设备 {r['equipment_code']} 计划于 {r['next_maintenance_date']} 保养（{d} 天后）",
                                   source_type="equipment", source_id=r["id"], priority=priority,
                                   extra={"equipment_code": r["equipment_code"], "days_left": d})
    return {"equipment": len(rows), "notified": sent}


@service("run_ecn_scheduler")
def run_ecn_scheduler(ctx: ServiceContext) -> dict:
    """Overdue ECN evaluations (3 days), approvals (past due_date, flagged is_overdue) and tasks.
    An item without its ECN or the date it is measured from is named as skipped; one whose
    ECN row is gone is told under its ecn_id."""
    ev, ap, tk = t.ecn_evaluations.c, t.ecn_approvals.c, t.ecn_tasks.c
    ecns = {r["id"]: dict(r) for r in ctx.conn.execute(sa.select(t.ecn)).mappings()}
    items: list[tuple[int, int | None, float, str]] = []
    for r in ctx.read(sa.select(t.ecn_evaluations).where(ev.status == "PENDING"),
                      need={ev.ecn_id: None, ev.created_at: ev.created_at < ctx.now - timedelta(days=3)}):
        with ctx.row("ecn_evaluations", r):
            owner = r["evaluator_id"] or (ecns.get(r["ecn_id"]) or {}).get("applicant_id")
            items.append((r["ecn_id"], owner, (ctx.now - r["created_at"]).total_seconds() / 86400 - 3,
                          f"评估（{r['eval_dept'] or '-'}）"))
    overdue_approvals = ctx.read(sa.select(t.ecn_approvals).where(ap.status == "PENDING"), need={ap.ecn_id: None, ap.due_date: ap.due_date < ctx.now})
    for r in overdue_approvals:
        with ctx.row("ecn_approvals", r):
            items.append((r["ecn_id"], r["approver_id"], (ctx.now - r["due_date"]).total_seconds() / 86400,
                          f"第{r['approval_level'] or '?'}级审批"))
    if overdue_approvals:
        ctx.conn.execute(sa.update(t.ecn_approvals).where(ap.id.in_([r["id"] for r in overdue_approvals])).values(is_overdue=True))
        ctx.wrote("ecn_approvals", len(overdue_approvals))
    for r in ctx.read(sa.select(t.ecn_tasks).where(tk.status.in_(("PENDING", "IN_PROGRESS"))),
                      need={tk.ecn_id: None, tk.planned_end: tk.planned_end < ctx.today}):
        with ctx.row("ecn_tasks", r):
            items.append((r["ecn_id"], r["assignee_id"], (ctx.today - as_date(r["planned_end"])).days,
                          f"执行任务 {r['task_name'] or '-'}"))
    sent = 0
    for ecn_id, user, days, what in items:
        ecn_no = (ecns.get(ecn_id) or {}).get("ecn_no") or str(ecn_id)
        if ctx.notice(user, "ECN_OVERDUE_ALERT", f"ECN超时提醒：{ecn_no}", f"{what} 已超时 {days:.0f} 天",
                      source_type="ecn", source_id=ecn_id, priority="URGENT" if days > 7 else "HIGH",
                      link=f"/ecns?ecnId={ecn_id}", extra={"category": "ecn", "item": what}):
            sent += 1
    return {"overdue_items": len(items), "notified": sent, "approvals_flagged": len(overdue_approvals)}
