"""Demo PMS data for the embedded default and the benchmark (`yd-platform pms demo-data`).

Deterministic for a seed and a day, sized by the number of projects, and spread around
"today" so that every one of the 37 services finds something: overdue and imminent
milestones, late tasks and purchase orders, stale issues, overdue invoices, budgets
close to or over their limit, last month's approved timesheets, ECNs waiting, and so on.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t

ROLES = ["PROJECT_MANAGER", "FINANCE", "财务经理", "SALES_MANAGER", "EQUIPMENT_MANAGER", "ENGINEER"]
DEPARTMENTS = ["项目管理部", "财务部", "销售部", "生产部", "采购部"]
STATUSES = ["ST01", "ST05", "ST08", "ST10", "ST14", "ST19", "ST22", "ST26", "ST30"]


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


class _Rows(dict):
    def add(self, table: sa.Table, **values) -> int:
        rows = self.setdefault(table.name, [])
        rows.append(values)
        values.setdefault("id", len(rows))
        return values["id"]


def build_rows(projects: int, seed: int, today: date) -> dict[str, list[dict]]:
    rnd = random.Random(seed)
    d = lambda lo, hi: today + timedelta(days=rnd.randint(lo, hi))  # noqa: E731
    r = _Rows()
    now = _at(today, 8)
    n_users = max(12, projects // 8)
    for name in DEPARTMENTS:
        r.add(t.departments, dept_name=name, is_active=True)
    for code in ROLES:
        r.add(t.roles, role_code=code, role_name=code, is_active=True)
    for u in range(1, n_users + 1):
        dept = (u - 1) % len(DEPARTMENTS) + 1
        r.add(t.users, username=f"user{u:04d}", real_name=f"员工{u:04d}", email=f"user{u:04d}@example.com",
              phone=f"1380000{u:04d}", department_id=dept, department=DEPARTMENTS[dept - 1], is_active=u % 25 != 0)
        r.add(t.user_roles, user_id=u, role_id=(u - 1) % len(ROLES) + 1)
        if u % 7 == 0:
            r.add(t.notification_settings, user_id=u, email_enabled=True, sms_enabled=False, wechat_enabled=u % 14 != 0,
                  system_enabled=True, alert_notifications=True, task_notifications=True, approval_notifications=True,
                  issue_notifications=True, project_notifications=True, quiet_hours_start="22:00", quiet_hours_end="07:00",
                  created_at=now, updated_at=now)
    r.add(t.hourly_rate_configs, config_type="DEFAULT", hourly_rate=120, is_active=True)
    r.add(t.hourly_rate_configs, config_type="DEPT", dept_id=4, hourly_rate=90, is_active=True)
    r.add(t.hourly_rate_configs, config_type="ROLE", role_id=1, hourly_rate=180, is_active=True)
    r.add(t.hourly_rate_configs, config_type="USER", user_id=2, hourly_rate=250, is_active=True,
          effective_date=today - timedelta(days=400))
    r.add(t.alert_rules, rule_code="SYSTEM_DEFAULT", rule_name="系统默认规则", rule_type="CUSTOM", target_type="SYSTEM",
          condition_type="THRESHOLD", is_enabled=True, is_system=True, notify_channels=["SYSTEM"], notify_users=[],
          notify_roles=[], created_at=now, updated_at=now)
    user = lambda: rnd.randint(1, n_users)  # noqa: E731
    for w in range(1, 5):
        r.add(t.workshop, workshop_name=f"车间{w}", is_active=True)
        for _ in range(8):
            r.add(t.worker, workshop_id=w, status=rnd.choice(["ACTIVE"] * 6 + ["LEAVE", "RESIGNED"]))
    for m in range(1, 41):
        r.add(t.materials, material_code=f"M{m:05d}", brand=rnd.choice(["SMC", "Festo", "THK", "欧姆龙"]))
    for e in range(1, max(6, projects // 20) + 1):
        r.add(t.equipment, equipment_code=f"EQ{e:04d}", equipment_name=f"设备{e}", is_active=True,
              last_maintenance_date=d(-90, -30), next_maintenance_date=d(-2, 20))
    for p in range(1, projects + 1):
        _project(r, rnd, p, today, now, user, d)
    _sales_and_ecn(r, rnd, projects, today, now, user, d)
    _alert_history(r, rnd, projects, now, user)
    return r


def _alert_history(r: _Rows, rnd: random.Random, projects: int, now: datetime, user) -> None:
    """Alerts of the last days in every state, for escalation and the response metrics."""
    for k in range(1, max(20, projects // 5) + 1):
        at = now - timedelta(hours=rnd.randint(2, 60))
        status = rnd.choice(["PENDING", "PENDING", "ACKNOWLEDGED", "RESOLVED"])
        ack = at + timedelta(hours=rnd.uniform(0.2, 10)) if status != "PENDING" else None
        done = ack + timedelta(hours=rnd.uniform(0.5, 12)) if status == "RESOLVED" else None
        level = rnd.choice(["INFO", "WARNING", "CRITICAL"])
        r.add(t.alert_records, alert_no=f"HS{at:%Y%m%d}{k:04d}", rule_id=1, target_type="SYSTEM", target_id=k,
              project_id=rnd.randint(1, projects), alert_level=level, severity=level, alert_title=f"历史预警{k}",
              alert_content="演示数据", alert_data={}, triggered_at=at, status=status, acknowledged_by=user() if ack else None,
              acknowledged_at=ack, handler_id=user() if done else None, handle_start_at=ack if done else None, handle_end_at=done,
              is_escalated=False, created_at=at, updated_at=done or ack or at)


def _project(r: _Rows, rnd: random.Random, p: int, today: date, now: datetime, user, d) -> None:
    start, end = d(-200, -20), d(-5, 160)
    pm = user()
    budget = rnd.randint(20, 500) * 10000
    customer = r.add(t.customers, customer_name=f"客户{p:05d}")
    contract = r.add(t.contracts, contract_code=f"HT{p:05d}", customer_id=customer, project_id=p, status="SIGNED",
                     sales_owner_id=user())
    r.add(t.projects, project_code=f"PJ{p:05d}", project_name=f"非标自动化项目{p:05d}", stage=f"S{rnd.randint(1, 9)}",
          status=rnd.choice(STATUSES), health="H1", progress_pct=rnd.randint(0, 90), kitting_rate=0, material_status="采购中",
          shortage_items_count=0, planned_start_date=start, planned_end_date=end, budget_amount=budget,
          actual_cost=round(budget * rnd.uniform(0.3, 1.3), 2) if p % 3 else 0, pm_id=pm, contract_id=contract,
          is_active=p % 40 != 0, is_archived=False)
    if p % 4 == 0:
        r.add(t.project_budgets, project_id=p, version="V1", status="APPROVED", is_active=True, total_amount=budget * 1.1)
    for _ in range(2):
        r.add(t.project_costs, project_id=p, cost_type="MATERIAL", cost_category="MATERIAL", source_module="PURCHASE",
              amount=round(budget * rnd.uniform(0.1, 0.5), 2), cost_date=d(-60, -1), created_by=1)
    milestones = []
    for k in range(4):
        planned = d(-20, 25)
        status = rnd.choice(["PENDING", "PENDING", "IN_PROGRESS", "COMPLETED", "DELAYED"])
        actual = None
        if status == "COMPLETED":
            actual = planned - timedelta(days=rnd.randint(-3, 5))
        elif status == "DELAYED":
            actual = planned + timedelta(days=rnd.randint(1, 10))
        stage = f"S{k + 2}"
        milestones.append(r.add(t.project_milestones, project_id=p, milestone_code=f"PJ{p:05d}-M{k + 1}",
                                milestone_name=f"里程碑{k + 1}", milestone_type=rnd.choice(["GATE", "DELIVERY", "PAYMENT"]),
                                planned_date=planned, actual_date=actual, status=status, is_key=k % 2 == 0, stage_code=stage,
                                owner_id=user(), created_at=now, updated_at=now))
        r.add(t.pmo_project_phase, project_id=p, phase_code=stage, plan_start_date=planned - timedelta(days=30),
              plan_end_date=planned, progress=rnd.randint(0, 100))
    for k in range(6):
        s = d(-40, 10)
        r.add(t.tasks, project_id=p, milestone_id=rnd.choice(milestones), task_name=f"PJ{p:05d}任务{k + 1}",
              status=rnd.choice(["TODO", "IN_PROGRESS", "DONE", "DONE", "BLOCKED", "CANCELLED"]), owner_id=user(),
              plan_start=s, plan_end=s + timedelta(days=rnd.randint(1, 20)), progress_percent=rnd.randint(0, 100), weight=1)
    for k in range(3):
        created = now - timedelta(days=rnd.randint(0, 30), hours=rnd.randint(0, 20))
        r.add(t.issues, issue_no=f"IS{p:05d}{k}", project_id=p, issue_type=rnd.choice(["DEFECT", "RISK", "BLOCKER", "QUESTION"]),
              severity=rnd.choice(["CRITICAL", "MAJOR", "MINOR"]), priority=rnd.choice(["LOW", "MEDIUM", "HIGH", "URGENT"]),
              title=f"问题{p}-{k}", description="现场发现的问题" * 5, assignee_id=user(), due_date=d(-15, 10),
              status=rnd.choice(["OPEN", "IN_PROGRESS", "RESOLVED", "CLOSED"]), is_blocking=rnd.random() < 0.1,
              created_at=created, updated_at=created + timedelta(hours=rnd.randint(0, 48)))
    for k in range(rnd.randint(1, 2)):
        r.add(t.material_shortages, project_id=p, material_code=f"M{rnd.randint(1, 40):05d}", material_name=f"物料{k}",
              shortage_qty=rnd.randint(1, 50), required_date=d(-5, 12) if k == 0 or p % 5 else None,
              status=rnd.choice(["OPEN", "OPEN", "RESOLVED"]))
    bom = r.add(t.bom_headers, project_id=p, is_latest=True, status=rnd.choice(["APPROVED", "RELEASED", "DRAFT"]))
    for _ in range(5 if p % 10 else 0):
        m = rnd.randint(1, 40)
        qty = rnd.randint(1, 20)
        r.add(t.bom_items, bom_id=bom, material_id=m, material_code=f"M{m:05d}", quantity=qty,
              received_qty=qty if rnd.random() < 0.6 else rnd.randint(0, qty),
              specification=rnd.choice(["气缸 SC63x100 行程=100", "导轨 HSR25 长度=800", "传感器 E2E-X5 电压=24"]))
    r.add(t.technical_spec_requirements, project_id=p, material_code=None, material_name="通用件",
          specification="气缸 SC63x100 行程=100", brand="SMC", model="SC63", key_parameters={"行程": 100},
          requirement_level=rnd.choice(["STRICT", "NORMAL"]))
    for k in range(2):
        po = r.add(t.purchase_orders, order_no=f"PO{p:05d}{k}", order_title=f"采购{p}-{k}", project_id=p,
                   required_date=d(-14, 10), status=rnd.choice(["APPROVED", "CONFIRMED", "PARTIAL_RECEIVED", "RECEIVED"]))
        r.add(t.purchase_order_items, order_id=po, material_code=f"M{rnd.randint(1, 40):05d}",
              specification=rnd.choice(["气缸 SC63x100 行程=100", "气缸 CDJ2 行程=50", "电机 200W"]))
    r.add(t.outsourcing_orders, order_no=f"OS{p:05d}", order_title=f"外协{p}", project_id=p, required_date=d(-5, 10),
          status=rnd.choice(["CONFIRMED", "IN_PROGRESS", "COMPLETED"]))
    r.add(t.production_plan, plan_no=f"PP{p:05d}", plan_name=f"生产计划{p}", project_id=p, plan_end_date=d(-5, 15),
          progress=rnd.randint(20, 100), status=rnd.choice(["EXECUTING", "EXECUTING", "COMPLETED", "APPROVED"]))
    for k in range(2):
        created = now - timedelta(days=rnd.randint(0, 3), hours=rnd.randint(0, 12))
        wo = r.add(t.work_order, work_order_no=f"WO{p:05d}{k}", task_name=f"装配{p}-{k}", project_id=p,
                   workshop_id=rnd.randint(1, 4), status=rnd.choice(["PENDING", "ASSIGNED", "STARTED", "COMPLETED"]),
                   plan_qty=rnd.randint(1, 20), completed_qty=rnd.randint(0, 10), qualified_qty=rnd.randint(0, 10),
                   standard_hours=rnd.randint(4, 40), plan_start_date=d(-3, 8), plan_end_date=d(5, 20),
                   actual_start_time=now - timedelta(hours=rnd.randint(10, 90)), created_at=created)
        if rnd.random() < 0.5:
            r.add(t.work_report, work_order_id=wo, worker_id=user(), report_time=now - timedelta(hours=rnd.randint(1, 60)),
                  work_hours=rnd.randint(1, 8), completed_qty=rnd.randint(1, 5), qualified_qty=rnd.randint(0, 5), defect_qty=rnd.randint(0, 1))
        r.add(t.mat_kit_check, work_order_id=wo, kit_rate=rnd.randint(40, 100), shortage_items=rnd.randint(0, 4),
              kit_status=rnd.choice(["complete", "partial"]), check_time=now - timedelta(days=rnd.randint(0, 2)))
    for k in range(2):
        ms = rnd.choice(milestones)
        r.add(t.project_payment_plans, project_id=p, contract_id=contract, payment_name=f"第{k + 1}期款",
              payment_type=rnd.choice(["ADVANCE", "DELIVERY", "ACCEPTANCE"]), planned_amount=budget * 0.3, actual_amount=0,
              planned_date=d(-30, 10), milestone_id=ms, status=rnd.choice(["PENDING", "INVOICED", "COMPLETED"]),
              remark=None, created_at=now, updated_at=now)
    r.add(t.invoices, invoice_code=f"INV{p:05d}", contract_id=contract, amount=budget * 0.3, total_amount=budget * 0.3,
          paid_amount=budget * rnd.choice([0, 0.1, 0.3]), status="ISSUED", payment_status=rnd.choice(["PENDING", "PARTIAL", "PAID"]),
          due_date=d(-120, 10))
    last_month_end = today.replace(day=1) - timedelta(days=1)
    for _ in range(3):
        r.add(t.timesheet, user_id=user(), user_name="", project_id=p,
              work_date=last_month_end - timedelta(days=rnd.randint(0, 25)), hours=rnd.randint(2, 8),
              status=rnd.choice(["APPROVED", "APPROVED", "SUBMITTED"]))
    if p % 3 == 0:
        r.add(t.task_unified, task_code=f"DEMO-{p:05d}", title=f"个人任务{p}", task_type="GENERAL", project_id=p,
              assignee_id=user(), status="IN_PROGRESS", priority="MEDIUM", deadline=now + timedelta(hours=rnd.randint(-5, 40)),
              created_at=now, updated_at=now)


def _sales_and_ecn(r: _Rows, rnd: random.Random, projects: int, today: date, now: datetime, user, d) -> None:
    n = max(10, projects // 4)
    for i in range(1, n + 1):
        upd = now - timedelta(days=rnd.randint(0, 30))
        r.add(t.opportunities, opp_code=f"OPP{i:05d}", opp_name=f"商机{i}",
              stage=rnd.choice(["DISCOVERY", "QUALIFICATION", "PROPOSAL", "NEGOTIATION", "CLOSING", "WON"]),
              gate_status=rnd.choice(["PENDING", "PASSED", "G2_PENDING", "G3_PENDING"]), owner_id=user(), created_at=upd, updated_at=upd)
        r.add(t.leads, lead_code=f"LD{i:05d}", status=rnd.choice(["QUALIFYING", "CONVERTED"]), owner_id=user(),
              updated_at=now - timedelta(days=rnd.randint(0, 10)))
        v = r.add(t.quote_versions, valid_until=today + timedelta(days=rnd.choice([-3, 1, 3, 7, 12])))
        r.add(t.quotes, quote_code=f"QT{i:05d}", status=rnd.choice(["SUBMITTED", "APPROVED", "DRAFT"]), owner_id=user(), current_version_id=v)
        r.add(t.approval_workflow_steps, workflow_id=i, step_order=1, step_name="部门审批", approver_id=user() if i % 3 else None,
              approver_role="FINANCE")
        r.add(t.approval_records, entity_type=rnd.choice(["QUOTE", "CONTRACT", "INVOICE"]), entity_id=i, workflow_id=i,
              current_step=1, status=rnd.choice(["PENDING", "APPROVED"]), created_at=now - timedelta(hours=rnd.randint(2, 80)))
        r.add(t.presale_support_ticket, ticket_no=f"PS{i:05d}", title=f"售前支持{i}",
              ticket_type=rnd.choice(["CONSULT", "QUOTATION", "SOLUTION", "TENDER", "OTHER"]), applicant_id=user(),
              assignee_id=user() if i % 4 else None, status=rnd.choice(["PENDING", "ACCEPTED", "PROCESSING", "CLOSED"]),
              created_at=now - timedelta(days=rnd.randint(0, 20)))
        e = r.add(t.ecn, ecn_no=f"ECN{i:05d}", ecn_title=f"设计变更{i}", applicant_id=user())
        r.add(t.ecn_evaluations, ecn_id=e, eval_dept="工艺部", evaluator_id=user() if i % 2 else None, status="PENDING",
              created_at=now - timedelta(days=rnd.randint(0, 8)))
        r.add(t.ecn_approvals, ecn_id=e, approval_level=1, approval_role="主管", approver_id=user(), status="PENDING",
              due_date=now + timedelta(days=rnd.randint(-10, 3)), is_overdue=False)
        r.add(t.ecn_tasks, ecn_id=e, task_name="图纸更新", assignee_id=user(), planned_end=d(-10, 5),
              status=rnd.choice(["PENDING", "IN_PROGRESS", "DONE"]))
        r.add(t.shortage_reports, report_time=now - timedelta(days=1, hours=rnd.randint(0, 20)),
              resolved_at=now - timedelta(hours=rnd.randint(0, 20)) if i % 2 else None)
        r.add(t.material_arrivals, expected_date=today - timedelta(days=1), actual_date=today - timedelta(days=rnd.randint(0, 2)),
              is_delayed=rnd.random() < 0.3)
        r.add(t.production_exception, workshop_id=rnd.randint(1, 4), report_time=now - timedelta(days=1, hours=rnd.randint(0, 10)),
              resolved_at=now - timedelta(hours=rnd.randint(1, 20)) if i % 2 else None)
    for j in range(1, 6):
        r.add(t.job_duty_template, position_id=j, department_id=j, duty_name=f"岗位职责{j}", duty_description="例行工作",
              frequency=["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "DAILY"][j - 1], day_of_week=today.isoweekday() % 7 + 1,
              day_of_month=min(today.day + 1, 28), month_of_year=today.month, auto_generate=True, generate_before_days=3,
              deadline_offset_days=1, default_priority="MEDIUM", estimated_hours=2, is_active=True)


def fill_demo(engine: sa.Engine, *, projects: int = 200, seed: int = 7, today: date | None = None, replace: bool = False) -> dict[str, int]:
    """Create missing tables and insert the demo rows; refuses a database that already has
    projects unless `replace` (which empties the 64 PMS tables first)."""
    from zoneinfo import ZoneInfo

    today = today or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    t.create_missing(engine)
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(t.projects)).scalar():
            if not replace:
                raise ValueError("the PMS database already has projects; use --replace to empty its 64 tables first")
            for table in reversed(t.metadata.sorted_tables):
                conn.execute(sa.delete(table))
        rows = build_rows(projects, seed, today)
        for name, values in rows.items():
            for start in range(0, len(values), 2000):
                conn.execute(sa.insert(t.TABLES[name]), values[start:start + 2000])
    return {name: len(values) for name, values in sorted(rows.items())}
