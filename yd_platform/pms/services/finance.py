"""Receivables, payment plans, cost overrun and monthly labour cost."""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, as_date
from yd_platform.pms.services import service

FINANCE_ROLES = ("FINANCE", "财务", "FINANCE_MANAGER", "财务经理")
DEFAULT_HOURLY_RATE = 100.0
OPEN_PLAN = ("PENDING", "INVOICED")


def receivable_level(days: int) -> str:
    if days >= 90:
        return "URGENT"
    if days >= 60:
        return "CRITICAL"
    return "WARNING" if days >= 30 else "INFO"


@service("check_overdue_receivable_alerts")
def check_overdue_receivable_alerts(ctx: ServiceContext) -> dict:
    """Issued invoices past their due date with money still open. The amount is total_amount,
    else amount; an invoice with neither cannot be measured and is named as skipped; a
    missing paid_amount means nothing was paid."""
    i, c, cu = t.invoices.c, t.contracts.c, t.customers.c
    rows = ctx.read(
        sa.select(i.id, i.invoice_code, i.amount, i.total_amount, i.paid_amount, i.due_date, c.project_id,
                  c.sales_owner_id, cu.customer_name)
        .outerjoin(t.contracts, c.id == i.contract_id).outerjoin(t.customers, cu.id == c.customer_id)
        .where((i.status == "ISSUED") & i.payment_status.in_(("PENDING", "PARTIAL"))),
        need={i.due_date: i.due_date < ctx.today})
    alerted = 0
    for r in rows:
        billed = r["total_amount"] if r["total_amount"] is not None else r["amount"]
        if billed is None:
            ctx.skip("invoices", r["id"], "total_amount", "NULL (amount NULL too)")
            continue
        unpaid = float(billed) - float(r["paid_amount"] or 0)
        if unpaid <= 0:
            continue
        k = (ctx.today - as_date(r["due_date"])).days
        alerted += ctx.raise_alert(
            "OVERDUE_RECEIVABLE", target_id=r["id"], level=receivable_level(k), prefix="AR",
            title=f"逾期应收：{r['invoice_code'] or r['id']}", target_no=r["invoice_code"], target_name=r["customer_name"],
            project_id=r["project_id"], content=f"客户 {r['customer_name'] or '-'} 发票 {r['invoice_code']} 已逾期 {k} 天，未收金额 {unpaid:,.2f} 元",
            trigger_value=k, threshold_value=0, data={"unpaid_amount": round(unpaid, 2), "days_overdue": k},
            recipients=[r["sales_owner_id"], ctx.pm_of(r["project_id"])]) is not None
    return {"checked": len(rows), "alerted": alerted}


def _plan_owner(ctx: ServiceContext, plan: dict) -> int | None:
    return ctx.contract_owners.get(plan["contract_id"]) or ctx.pm_of(plan["project_id"])


def upcoming_payments(ctx: ServiceContext, *, urgent_within: int = 3) -> int:
    """PAYMENT_PLAN_UPCOMING notices for open plans due within 7 days (HIGH within `urgent_within`)."""
    pp = t.project_payment_plans.c
    sent = 0
    window = (pp.planned_date >= ctx.today) & (pp.planned_date <= ctx.today + timedelta(days=7))
    for plan in ctx.read(sa.select(t.project_payment_plans).where(pp.status.in_(OPEN_PLAN)), need={pp.planned_date: window}):
        with ctx.row("project_payment_plans", plan):
            left = (as_date(plan["planned_date"]) - ctx.today).days
            amount = None if plan["planned_amount"] is None else float(plan["planned_amount"])
            sent += ctx.notice(_plan_owner(ctx, plan), "PAYMENT_PLAN_UPCOMING", f"收款计划即将到期：{plan['payment_name']}",
                               f"{plan['payment_name']} 计划 {plan['planned_date']} 收款 "
                               + (f"{amount:,.2f} 元" if amount is not None else "（金额未填）") + f"（{left} 天后）",
                               source_type="payment_plan", source_id=plan["id"], priority="HIGH" if left <= urgent_within else "NORMAL",
                               link=f"/projects/{plan['project_id']}/payments",
                               extra={"payment_name": plan["payment_name"], "payment_type": plan["payment_type"],
                                      "planned_amount": amount, "planned_date": str(plan["planned_date"]), "days_left": left})
    return sent


@service("check_payment_reminder")
def check_payment_reminder(ctx: ServiceContext) -> dict:
    return {"notified": upcoming_payments(ctx)}


@service("check_milestone_status_and_adjust_payments")
def check_milestone_status_and_adjust_payments(ctx: ServiceContext) -> dict:
    """Open payment plans follow their milestone: a delayed milestone moves them to its actual
    date, an early completion moves them earlier. Applied to every delayed/completed milestone
    whose plans still differ (the old job looked at the wrong milestones and changed nothing).
    A milestone without its planned or actual date cannot say which way to move: its plans are
    left alone and it is named as skipped; a plan without a date takes the milestone's."""
    m, pp = t.project_milestones.c, t.project_payment_plans.c
    rows = ctx.read(
        sa.select(t.project_payment_plans, m.status.label("ms_status"), m.planned_date.label("ms_planned"),
                  m.actual_date.label("ms_actual"), m.milestone_name)
        .join(t.project_milestones, m.id == pp.milestone_id)
        .where(pp.status.in_(OPEN_PLAN) & m.status.in_(("DELAYED", "COMPLETED"))), need=[m.actual_date, m.planned_date])
    finance = ctx.role_users(*FINANCE_ROLES)
    adjusted = 0
    for r in rows:
        with ctx.row("project_payment_plans", r):
            actual, ms_planned, old = as_date(r["ms_actual"]), as_date(r["ms_planned"]), as_date(r["planned_date"])
            if r["ms_status"] == "DELAYED" and actual > ms_planned and (old is None or old < actual):
                reason = f"里程碑 {r['milestone_name']} 延期至 {actual}"
            elif r["ms_status"] == "COMPLETED" and actual < ms_planned and (old is None or old > actual):
                reason = f"里程碑 {r['milestone_name']} 提前完成，允许提前开票"
            else:
                continue
            history = _history(r["remark"])
            history.append({"field": "planned_date", "old_value": str(old), "new_value": str(actual), "reason": reason,
                             "adjusted_by": "系统", "adjusted_at": ctx.now.isoformat(timespec="seconds")})
            for uid in {ctx.contract_owners.get(r["contract_id"]), ctx.pm_of(r["project_id"]), *finance} - {None}:
                ctx.notice(uid, "PAYMENT_ADJUSTMENT", f"收款计划已调整：{r['payment_name']}",
                           f"{reason}：计划收款日 {old} → {actual}", source_type="payment_plan", source_id=r["id"],
                           priority="NORMAL", extra={"old_date": str(old), "new_date": str(actual)})
            ctx.conn.execute(sa.update(t.project_payment_plans).where(pp.id == r["id"]).values(
                planned_date=actual, remark=json.dumps(history, ensure_ascii=False), updated_at=ctx.now))
            adjusted += 1
    ctx.wrote("project_payment_plans", adjusted)
    return {"checked": len(rows), "adjusted": adjusted, "errors": []}


def _history(remark: str | None) -> list:
    try:
        value = json.loads(remark) if remark else []
    except ValueError:
        value = [{"note": remark}]
    return value if isinstance(value, list) else [value]


def overrun_level(execution_pct: float) -> str | None:
    """Budget execution: 90 % or more is a warning, 10 % over critical, 20 % over urgent."""
    over = execution_pct - 100
    if over >= 20:
        return "URGENT"
    if over >= 10:
        return "CRITICAL"
    return "WARNING" if execution_pct >= 90 else None


def budget_check(ctx: ServiceContext, project_ids: list[int] | None = None) -> int:
    """Cost-overrun alerts per project: budget = latest active approved budget, else
    budget_amount; actual = actual_cost, else the sum of its costs. An open alert of the
    project is refreshed (content, trigger value, a higher level) instead of duplicated.
    A project with no budget at all (no approved budget, budget_amount NULL) is named as
    skipped; a zero budget is no budget to check against and is passed over."""
    p, b, c, a = t.projects.c, t.project_budgets.c, t.project_costs.c, t.alert_records.c
    where = p.is_active.is_(True) if project_ids is None else p.id.in_(project_ids)
    projects = ctx.conn.execute(sa.select(p.id, p.project_code, p.project_name, p.budget_amount, p.actual_cost).where(where)).all()
    budgets = {}
    for pid, total in ctx.conn.execute(sa.select(b.project_id, b.total_amount).where(
            (b.status == "APPROVED") & b.is_active.is_(True)).order_by(b.id)):
        budgets[pid] = total
    costs = dict(ctx.conn.execute(sa.select(c.project_id, sa.func.sum(c.amount)).group_by(c.project_id)).all())
    rule = ctx.rule("COST_OVERRUN")
    open_alerts = {r.target_id: r for r in ctx.conn.execute(sa.select(a.id, a.target_id, a.alert_level).where(
        (a.rule_id == rule["id"]) & (a.status == "PENDING")))}
    order = ("INFO", "WARNING", "CRITICAL", "URGENT")
    alerted = 0
    for pid, code, name, budget_amount, actual_cost in projects:
        approved = budgets.get(pid)
        if approved is None and budget_amount is None:
            ctx.skip("projects", pid, "budget_amount", "NULL (no approved budget either)")
            continue
        budget = float(approved or budget_amount or 0)
        actual = float(actual_cost or 0) or float(costs.get(pid) or 0)
        if budget <= 0:
            continue
        name = name or code or str(pid)
        execution = actual / budget * 100
        level = overrun_level(execution)
        if level is None:
            continue
        content = f"项目 {name} 预算 {budget:,.2f} 元，实际 {actual:,.2f} 元，执行率 {execution:.1f}%"
        existing = open_alerts.get(pid)
        if existing is not None:
            values = dict(alert_content=content, trigger_value=f"{execution:.1f}", updated_at=ctx.now)
            if order.index(level) > order.index(existing.alert_level or "INFO"):
                values.update(alert_level=level, severity=level)
            ctx.conn.execute(sa.update(t.alert_records).where(a.id == existing.id).values(**values))
            ctx.wrote("alert_records")
            continue
        alerted += ctx.raise_alert("COST_OVERRUN", target_id=pid, level=level, prefix="CO",
                                   title=f"成本{'超支' if execution >= 100 else '接近预算'}：{name}", target_no=code,
                                   target_name=name, project_id=pid, content=content, trigger_value=f"{execution:.1f}",
                                   threshold_value=90, data={"budget": budget, "actual": actual}) is not None
    return alerted


@service("check_cost_overrun_alerts")
def check_cost_overrun_alerts(ctx: ServiceContext) -> dict:
    return {"alerted": budget_check(ctx)}


def month_of(ctx: ServiceContext) -> tuple[date, date]:
    if ctx.partition:
        first = date.fromisoformat(ctx.partition[:7] + "-01")
    else:
        first = (ctx.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def hourly_rate(ctx: ServiceContext, rates: list[dict], user: dict, role_ids: list[int], dept_id: int | None, on: date) -> float:
    """USER, then each of the user's ROLEs, then DEPT, then DEFAULT: the first tier in effect on
    `on` (no effective date: in effect from the start; no expiry date: never expires). `rates`
    holds only configs with a rate (see `usable_rates`)."""
    live = [r for r in rates if r["is_active"] and (r["effective_date"] is None or as_date(r["effective_date"]) <= on)
            and (r["expiry_date"] is None or as_date(r["expiry_date"]) >= on)]
    tiers = [("USER", "user_id", [user["id"]]), ("ROLE", "role_id", role_ids), ("DEPT", "dept_id", [dept_id]), ("DEFAULT", None, [None])]
    for kind, column, keys in tiers:
        for key in keys:
            for r in live:
                if r["config_type"] == kind and (column is None or (key is not None and r[column] == key)):
                    return float(r["hourly_rate"])
    return DEFAULT_HOURLY_RATE


def usable_rates(ctx: ServiceContext) -> list[dict]:
    """The hourly-rate configs that have a rate; one without is named as skipped, so the
    user falls through to the next tier instead of stopping the month's costs."""
    h = t.hourly_rate_configs.c
    return ctx.read(sa.select(t.hourly_rate_configs).order_by(h.id), need=[h.hourly_rate])


@service("calculate_monthly_labor_cost_task")
def calculate_monthly_labor_cost_task(ctx: ServiceContext) -> dict:
    """Labour cost of the month's approved timesheets per (project, user), written as one
    project_costs row per month (the old key had no month, so each month overwrote the last);
    projects.actual_cost moves by the difference, then the budget check runs. An approved
    timesheet without project, user, hours or work date cannot be costed to anyone's month and
    is named as skipped; the others of the project and user are costed as usual."""
    first, last = month_of(ctx)
    ts, ur, d, pc = t.timesheet.c, t.user_roles.c, t.departments.c, t.project_costs.c
    in_month = (ts.work_date >= first) & (ts.work_date <= last)
    needs = {ts.work_date: in_month, ts.project_id: None, ts.user_id: None, ts.hours: None}
    approved = sa.select(t.timesheet).where(ts.status == "APPROVED")
    ctx.name_missing(approved, needs)
    sheets = ctx.conn.execute(sa.select(ts.project_id, ts.user_id, sa.func.sum(ts.hours), sa.func.max(ts.work_date))
                              .where((ts.status == "APPROVED") & in_month & ts.project_id.is_not(None)
                                     & ts.user_id.is_not(None) & ts.hours.is_not(None))
                              .group_by(ts.project_id, ts.user_id)).all()
    users = {r["id"]: dict(r) for r in ctx.conn.execute(sa.select(t.users)).mappings()}
    roles = defaultdict(list)
    for uid, rid in ctx.conn.execute(sa.select(ur.user_id, ur.role_id)):
        roles[uid].append(rid)
    depts = dict(ctx.conn.execute(sa.select(d.dept_name, d.id)).all())
    rates = usable_rates(ctx)
    existing = {(r.project_id, r.source_id): (r.id, float(r.amount or 0)) for r in ctx.conn.execute(
        sa.select(pc.id, pc.project_id, pc.source_id, pc.amount).where(
            (pc.source_module == "TIMESHEET") & (pc.source_type == "LABOR_COST") & (pc.cost_date == last)))}
    delta: dict[int, float] = defaultdict(float)
    total = 0.0
    for pid, uid, hours, latest in sheets:
        with ctx.row("timesheet", {"project_id": pid, "user_id": uid, "hours": hours, "work_date": latest},
                     row_id=f"project {pid} user {uid}"):
            user = users.get(uid) or {"id": uid, "real_name": str(uid), "department": None, "department_id": None}
            dept = user.get("department_id") or depts.get(user.get("department"))
            rate = hourly_rate(ctx, rates, user, roles[uid], dept, as_date(latest))
            cost = round(float(hours) * rate, 2)
            values = dict(project_id=pid, cost_type="LABOR", cost_category="LABOR", source_module="TIMESHEET",
                          source_type="LABOR_COST", source_id=uid, amount=cost, cost_date=last,
                          created_by=ctx.config.system_user_id,
                          description=f"人工成本：{user.get('real_name') or user.get('username') or uid}，工时：{float(hours):g}小时")
            old = existing.get((pid, uid))
            if old is None:
                ctx.conn.execute(sa.insert(t.project_costs).values(**values))
            else:
                ctx.conn.execute(sa.update(t.project_costs).where(pc.id == old[0]).values(**values))
            ctx.wrote("project_costs")
            total += cost
            delta[pid] += cost - (old[1] if old else 0.0)
    p = t.projects.c
    for pid, diff in delta.items():
        if diff:
            ctx.conn.execute(sa.update(t.projects).where(p.id == pid).values(actual_cost=sa.func.coalesce(p.actual_cost, 0) + diff))
            ctx.wrote("projects")
    alerted = budget_check(ctx, list(delta)) if delta else 0
    return {"year": first.year, "month": first.month, "projects_processed": len(delta), "total_cost": round(total, 2),
            "overrun_alerts": alerted, "errors": []}
