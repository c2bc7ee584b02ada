"""Presales tickets, opportunities and the daily sales reminder scan (in-app notices)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import ServiceContext, as_date
from yd_platform.pms.services import service
from yd_platform.pms.services.finance import OPEN_PLAN, upcoming_payments

TICKET_LIMIT_DAYS = {"CONSULT": 3, "QUOTATION": 5, "SOLUTION": 7, "TENDER": 10}
STAGE_LIMIT_DAYS = {"QUALIFICATION": 7, "NEEDS_ANALYSIS": 14, "PROPOSAL": 10, "NEGOTIATION": 14, "CLOSING": 7}
OPEN_STAGES = ("DISCOVERY", "QUALIFICATION", "PROPOSAL", "NEGOTIATION", "CLOSING")
OVERDUE_PAYMENT_ROLES = ("财务", "FINANCE", "FINANCE_MANAGER", "财务经理", "销售经理", "SALES_MANAGER")


@service("check_presale_workorder_timeout")
def check_presale_workorder_timeout(ctx: ServiceContext) -> dict:
    """Open tickets older than their type's limit; a ticket without created_at cannot be aged
    and is named in the run's skipped rows."""
    s = t.presale_support_ticket.c
    rows = ctx.read(sa.select(t.presale_support_ticket).where(s.status.in_(("PENDING", "ACCEPTED", "PROCESSING"))),
                    need=[s.created_at])
    sent = 0
    for r in rows:
        with ctx.row("presale_support_ticket", r):
            limit = TICKET_LIMIT_DAYS.get((r["ticket_type"] or "").upper(), 5)
            days = (ctx.today - as_date(r["created_at"])).days
            if days <= limit:
                continue
            sent += ctx.notice(r["assignee_id"] or r["applicant_id"], "PRESALE_TICKET_TIMEOUT",
                               f"售前工单超时：{r['ticket_no'] or r['id']}",
                               f"{r['title'] or ''} 已处理 {days} 天，超过 {limit} 天时限", source_type="presale_ticket",
                               source_id=r["id"], priority="HIGH" if days > 1.5 * limit else "NORMAL",
                               extra={"ticket_type": r["ticket_type"], "days": days, "timeout_days": limit})
    return {"checked": len(rows), "notified": sent}


@service("check_opportunity_stage_timeout")
def check_opportunity_stage_timeout(ctx: ServiceContext) -> dict:
    """Days in stage are counted from the last update (the only clock the table has)."""
    o = t.opportunities.c
    rows = ctx.conn.execute(sa.select(t.opportunities).where(o.stage.in_(OPEN_STAGES))).mappings().all()
    sent = 0
    for r in rows:
        with ctx.row("opportunities", r):
            limit = STAGE_LIMIT_DAYS.get(r["stage"], 14)
            days = (ctx.today - as_date(r["updated_at"])).days
            if days <= limit:
                continue
            name = r["opp_name"] or r["opp_code"] or str(r["id"])
            sent += ctx.notice(r["owner_id"], "OPPORTUNITY_STAGE_TIMEOUT", f"商机阶段超时：{name}",
                               f"商机 {name} 在 {r['stage']} 阶段已停留 {days} 天（时限 {limit} 天）",
                               source_type="opportunity", source_id=r["id"], link=f"/sales/opportunities/{r['id']}",
                               priority="HIGH" if days > 1.5 * limit else "NORMAL",
                               extra={"opportunity_name": r["opp_name"], "stage": r["stage"], "days_in_stage": days,
                                      "timeout_days": limit})
    return {"checked": len(rows), "notified": sent}


def _milestones(ctx: ServiceContext) -> int:
    m = t.project_milestones.c
    sent = 0
    for r in ctx.read(sa.select(t.project_milestones).where(m.status == "PENDING"),
                      need={m.planned_date: m.planned_date <= ctx.today + timedelta(days=7)}):
        with ctx.row("project_milestones", r):
            d = (as_date(r["planned_date"]) - ctx.today).days
            kind, priority = ("MILESTONE_OVERDUE", "URGENT") if d < 0 else ("MILESTONE_UPCOMING", "HIGH" if d <= 3 else "NORMAL")
            sent += ctx.notice(r["owner_id"], kind, f"{'里程碑已逾期' if d < 0 else '里程碑即将到期'}：{r['milestone_name']}",
                               f"计划日期 {r['planned_date']}", source_type="milestone", source_id=r["id"], priority=priority,
                               extra={"days_left": d})
    return sent


def _overdue_payments(ctx: ServiceContext) -> int:
    """Plans 7+ days past their date: a receivable dispute (once) and a daily notice. A plan
    without a planned amount counts as unpaid (nothing says it was paid)."""
    pp, rd = t.project_payment_plans.c, t.receivable_disputes.c
    people = ctx.role_users(*OVERDUE_PAYMENT_ROLES)
    disputed = set(ctx.conn.execute(sa.select(rd.payment_id).where(rd.reason_code == "OVERDUE")).scalars())
    sent = 0
    for r in ctx.read(sa.select(t.project_payment_plans).where(pp.status.in_(OPEN_PLAN)),
                      need={pp.planned_date: pp.planned_date <= ctx.today - timedelta(days=7)}):
        with ctx.row("project_payment_plans", r):
            if float(r["actual_amount"] or 0) >= float(r["planned_amount"] or 0) > 0:
                continue
            k = (ctx.today - as_date(r["planned_date"])).days
            priority = "URGENT" if k >= 60 else "HIGH" if k >= 15 else "NORMAL"
            for uid in {ctx.contract_owners.get(r["contract_id"]), ctx.pm_of(r["project_id"]), *people} - {None}:
                sent += ctx.notice(uid, "PAYMENT_OVERDUE", f"收款逾期：{r['payment_name']}", f"已逾期 {k} 天",
                                   source_type="payment_plan", source_id=r["id"], priority=priority, extra={"days_overdue": k})
            if r["id"] not in disputed:
                ctx.conn.execute(sa.insert(t.receivable_disputes).values(
                    payment_id=r["id"], reason_code="OVERDUE", description=f"{r['payment_name']} 逾期 {k} 天未收款",
                    status="OPEN", responsible_dept="财务部", expect_resolve_date=ctx.today + timedelta(days=30)))
                ctx.wrote("receivable_disputes")
    return sent


def _gates(ctx: ServiceContext) -> int:
    ld, o = t.leads.c, t.opportunities.c
    stale = ctx.now - timedelta(days=3)
    sent = 0
    for r in ctx.read(sa.select(ld.id, ld.owner_id, ld.lead_code).where(ld.status == "QUALIFYING"),
                      need={ld.updated_at: ld.updated_at < stale}):
        sent += ctx.notice(r["owner_id"], "GATE_TIMEOUT", f"线索 G1 评审超时：{r['lead_code'] or r['id']}", "3 天未推进",
                           source_type="lead", source_id=r["id"], priority="HIGH")
    for oid, owner, name, gate in ctx.conn.execute(sa.select(o.id, o.owner_id, o.opp_name, o.gate_status).where(
            o.gate_status.in_(("G2_PENDING", "G3_PENDING", "G4_PENDING")) & (o.updated_at < stale))):
        sent += ctx.notice(owner, "GATE_TIMEOUT", f"商机 {gate[:2]} 评审超时：{name or oid}", "3 天未推进",
                           source_type="opportunity", source_id=oid, priority="HIGH")
    return sent


def _quotes(ctx: ServiceContext) -> int:
    """Quotes under review by their current version's validity; a quote without a current
    version or a version without valid_until is named as skipped."""
    q, v = t.quotes.c, t.quote_versions.c
    sent = 0
    for r in ctx.read(sa.select(q.id, q.owner_id, q.quote_code, q.current_version_id, v.valid_until)
                      .outerjoin(t.quote_versions, v.id == q.current_version_id)
                      .where(q.status.in_(("SUBMITTED", "APPROVED"))), need=[q.current_version_id, v.valid_until]):
        with ctx.row("quotes", r):
            left = (as_date(r["valid_until"]) - ctx.today).days
            code = r["quote_code"] or r["id"]
            if left < 0:
                sent += ctx.notice(r["owner_id"], "QUOTE_EXPIRED", f"报价已过期：{code}", f"有效期至 {r['valid_until']}",
                                   source_type="quote", source_id=r["id"], priority="HIGH")
            elif left in (7, 3, 1):
                sent += ctx.notice(r["owner_id"], "QUOTE_EXPIRING", f"报价即将过期：{code}", f"{left} 天后过期",
                                   source_type="quote", source_id=r["id"], priority={7: "NORMAL", 3: "HIGH", 1: "URGENT"}[left])
    return sent


def _approvals(ctx: ServiceContext) -> int:
    a, s = t.approval_records.c, t.approval_workflow_steps.c
    sent = 0
    for r in ctx.read(sa.select(a.id, a.entity_type, a.entity_id, a.created_at, s.approver_id, s.approver_role)
                      .outerjoin(t.approval_workflow_steps, (s.workflow_id == a.workflow_id) & (s.step_order == a.current_step))
                      .where(a.status == "PENDING"), need={a.created_at: a.created_at < ctx.now - timedelta(hours=24)}):
        with ctx.row("approval_records", r):
            hours = (ctx.now - r["created_at"]).total_seconds() / 3600
            people = [r["approver_id"]] if r["approver_id"] else ctx.role_users(r["approver_role"] or "")
            for uid in people:
                sent += ctx.notice(uid, "APPROVAL_PENDING", f"待审批：{r['entity_type']} #{r['entity_id']}", f"已等待 {hours:.0f} 小时",
                                   source_type="approval", source_id=r["id"], priority="HIGH" if hours >= 48 else "NORMAL")
    return sent


@service("sales_reminder_scan")
def sales_reminder_scan(ctx: ServiceContext) -> dict:
    """Milestones, payment plans (upcoming and overdue), gate reviews, quotes and approvals.
    Contract delivery deadlines are not checked: the contracts table has no such column."""
    return {"milestones": _milestones(ctx), "payments_upcoming": upcoming_payments(ctx),
            "payments_overdue": _overdue_payments(ctx), "gates": _gates(ctx), "quotes": _quotes(ctx),
            "approvals": _approvals(ctx)}
