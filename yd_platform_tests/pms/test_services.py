"""Every service's conditions and thresholds on rows built from the PMS schema, on SQLite:
boundary days, levels and de-duplication (the escalation and the notification push and
retry have their own tests)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.config import load_pms_config
from yd_platform_tests.pms.database import EQUIP, FINANCE, NOW, OWNER, PM, SALES, TODAY, day

CASES = {}


def case(service_id):
    def register(func):
        CASES[service_id] = func
        return func
    return register


def dedupes(db, service_id, rule=None, now=NOW):
    before = len(db.alerts(rule))
    assert db.run(service_id, now=now)["alerts_created"] == 0
    assert len(db.alerts(rule)) == before


@case("generate_shortage_alerts")
def _(db):
    ids = {off: db.add("material_shortages", project_id=1, material_code=f"M{off}", material_name="气缸", shortage_qty=3,
                       required_date=None if off is None else day(off), status="OPEN")
           for off in (-1, 0, 3, 4, 7, 8, None)}
    db.add("material_shortages", project_id=1, material_code="X", material_name="x", shortage_qty=1, required_date=day(-5),
           status="RESOLVED")
    db.run("generate_shortage_alerts")
    assert db.alerts() == {ids[-1]: "URGENT", ids[0]: "CRITICAL", ids[3]: "CRITICAL", ids[4]: "WARNING", ids[7]: "WARNING",
                           ids[8]: "INFO", ids[None]: "INFO"}
    dedupes(db, "generate_shortage_alerts")
    # notified at once: the project PM gets an in-app ALERT notice
    assert {n["user_id"] for n in db.notices("ALERT")} == {PM}


@case("check_milestone_alerts")
def _(db):
    ids = {off: db.add("project_milestones", project_id=1, milestone_code=f"M{off}", milestone_name=f"m{off}", planned_date=day(off),
                       status="PENDING", is_key=False, owner_id=OWNER) for off in (-1, 0, 1, 2, 3, 4)}
    db.add("project_milestones", project_id=1, milestone_name="done", planned_date=day(-3), status="COMPLETED", owner_id=OWNER)
    db.add("project_milestones", project_id=1, milestone_name="cancelled", planned_date=day(-3), status="CANCELLED", owner_id=OWNER)
    db.run("check_milestone_alerts")
    assert db.alerts("MILESTONE_OVERDUE") == {ids[-1]: "CRITICAL"}
    assert db.alerts("MILESTONE_DUE_SOON") == {ids[0]: "CRITICAL", ids[1]: "CRITICAL", ids[2]: "WARNING", ids[3]: "WARNING"}
    dedupes(db, "check_milestone_alerts", now=NOW + timedelta(hours=5))
    # per-day de-duplication: the next day a still-overdue milestone gets a new alert
    assert db.run("check_milestone_alerts", now=NOW + timedelta(days=1))["alerts_created"] == 6
    assert {n["user_id"] for n in db.notices("ALERT")} == {OWNER, PM}


@case("check_milestone_risk_alerts")
def _(db):
    db.add("project_milestones", project_id=1, milestone_name="late", planned_date=day(-2), status="IN_PROGRESS")
    plain = db.add("project_milestones", project_id=1, milestone_name="a", planned_date=day(5), status="PENDING", is_key=False)
    key = db.add("project_milestones", project_id=1, milestone_name="b", planned_date=day(6), status="PENDING", is_key=True,
                 stage_code="S4")
    db.add("pmo_project_phase", project_id=1, phase_code="S4", plan_start_date=day(-20), plan_end_date=day(0), progress=50)
    db.add("project_milestones", project_id=1, milestone_name="edge", planned_date=day(3), status="PENDING")
    db.add("project_milestones", project_id=1, milestone_name="far", planned_date=day(15), status="PENDING")
    db.add("project_milestones", project_id=2, milestone_name="alone", planned_date=day(10), status="PENDING")
    db.run("check_milestone_risk_alerts")
    # 0.35 overdue predecessor + 0.30 not started within 7 days = 0.65; key with a 50-point phase gap: (0.65+0.25)*1.2 -> 1.0
    assert db.alerts("MILESTONE_AT_RISK") == {plain: "WARNING", key: "CRITICAL"}
    record = db.rows("alert_records", t.alert_records.c.target_id == key)[0]
    assert record["trigger_value"] == "1.00" and record["target_type"] == "MILESTONE_RISK"
    dedupes(db, "check_milestone_risk_alerts")


@case("check_task_delay_alerts")
def _(db):
    ids = {off: db.add("tasks", project_id=1, task_name=f"t{off}", status="IN_PROGRESS", owner_id=OWNER, plan_start=day(-30),
                       plan_end=day(off)) for off in (0, -1, -2, -3, -6, -7)}
    db.add("tasks", project_id=1, task_name="done", status="DONE", plan_end=day(-9))
    db.run("check_task_delay_alerts")
    assert db.alerts() == {ids[-1]: "WARNING", ids[-2]: "WARNING", ids[-3]: "CRITICAL", ids[-6]: "CRITICAL", ids[-7]: "URGENT"}
    dedupes(db, "check_task_delay_alerts", now=NOW + timedelta(hours=1))


@case("check_production_plan_alerts")
def _(db):
    ok = db.add("production_plan", plan_no="P1", plan_name="p1", project_id=1, plan_end_date=day(7), progress=79, status="EXECUTING")
    late = db.add("production_plan", plan_no="P2", plan_name="p2", project_id=1, plan_end_date=day(-1), progress=10, status="EXECUTING")
    db.add("production_plan", plan_no="P3", plan_name="p3", project_id=1, plan_end_date=day(1), progress=80, status="EXECUTING")
    db.add("production_plan", plan_no="P4", plan_name="p4", project_id=1, plan_end_date=day(8), progress=0, status="EXECUTING")
    db.add("production_plan", plan_no="P5", plan_name="p5", project_id=1, plan_end_date=day(1), progress=0, status="APPROVED")
    db.run("check_production_plan_alerts")
    assert db.alerts() == {ok: "WARNING", late: "CRITICAL"}
    dedupes(db, "check_production_plan_alerts")


@case("check_outsourcing_delivery_alerts")
def _(db):
    ids = {off: db.add("outsourcing_orders", order_no=f"O{off}", order_title="o", project_id=1, required_date=day(off),
                       status="CONFIRMED") for off in (-1, 0, 3, 4)}
    db.add("outsourcing_orders", order_no="done", project_id=1, required_date=day(-3), status="COMPLETED")
    db.run("check_outsourcing_delivery_alerts")
    assert db.alerts() == {ids[-1]: "CRITICAL", ids[0]: "WARNING", ids[3]: "WARNING"}
    assert db.rows("alert_records", t.alert_records.c.target_id == ids[-1])[0]["alert_title"].startswith("外协订单交期逾期")


@case("check_overdue_receivable_alerts")
def _(db):
    ids = {k: db.add("invoices", invoice_code=f"I{k}", contract_id=1, amount=100, total_amount=None if k == 29 else 100,
                     paid_amount=40, status="ISSUED", payment_status="PARTIAL", due_date=day(-k)) for k in (0, 29, 30, 59, 60, 90)}
    db.add("invoices", invoice_code="paid", contract_id=1, total_amount=100, paid_amount=100, status="ISSUED",
           payment_status="PARTIAL", due_date=day(-100))
    db.add("invoices", invoice_code="other", contract_id=1, total_amount=100, paid_amount=0, status="PAID",
           payment_status="PENDING", due_date=day(-100))
    db.run("check_overdue_receivable_alerts")
    assert db.alerts() == {ids[29]: "INFO", ids[30]: "WARNING", ids[59]: "WARNING", ids[60]: "CRITICAL", ids[90]: "URGENT"}
    record = db.rows("alert_records", t.alert_records.c.target_id == ids[90])[0]
    assert record["project_id"] == 1 and "60.00" in record["alert_content"] and "客户甲" in record["alert_content"]
    dedupes(db, "check_overdue_receivable_alerts")


@case("check_workload_overload_alerts")
def _(db):
    # OWNER: 25 task days = 200 h = 113.6 % -> WARNING; SALES: 20 days = 160 h -> none;
    # FINANCE: 31 days + 100 h allocation = 348 h = 197.7 % -> CRITICAL
    db.add("tasks", project_id=1, task_name="a", status="IN_PROGRESS", owner_id=OWNER, plan_start=day(0), plan_end=day(24))
    db.add("tasks", project_id=1, task_name="b", status="TODO", owner_id=SALES, plan_start=day(0), plan_end=day(19))
    db.add("tasks", project_id=1, task_name="c", status="CANCELLED", owner_id=SALES, plan_start=day(0), plan_end=day(19))
    db.add("tasks", project_id=1, task_name="d", status="TODO", owner_id=FINANCE, plan_start=day(0), plan_end=day(30))
    db.add("pmo_resource_allocation", resource_id=FINANCE, start_date=day(1), end_date=day(5), planned_hours=100, status="PLANNED")
    db.run("check_workload_overload_alerts")
    assert db.alerts() == {OWNER: "WARNING", FINANCE: "CRITICAL"}
    dedupes(db, "check_workload_overload_alerts")


@case("daily_kit_check")
def _(db):
    db.add("projects", id=2, project_name="no bom", status="ST05", health="H1", is_active=True, is_archived=False, pm_id=PM)
    db.add("projects", id=3, project_name="short", status="ST05", health="H1", is_active=True, is_archived=False, pm_id=PM)
    for pid, received in ((1, [5, 5, 5, 1]), (3, [5, 0, 0, 0])):
        bom = db.add("bom_headers", project_id=pid, is_latest=True, status="APPROVED")
        for i, got in enumerate(received):
            db.add("bom_items", bom_id=bom, material_id=i + 1, material_code=f"M{i}", quantity=5, received_qty=got)
    ok = db.add("work_order", work_order_no="W1", project_id=1, status="ASSIGNED", plan_start_date=day(7))
    db.add("mat_kit_check", work_order_id=ok, kit_rate=90, check_time=NOW - timedelta(days=2))
    db.add("mat_kit_check", work_order_id=ok, kit_rate=79, check_time=NOW - timedelta(days=1))
    fine = db.add("work_order", work_order_no="W2", project_id=1, status="PENDING", plan_start_date=day(2))
    db.add("mat_kit_check", work_order_id=fine, kit_rate=80, check_time=NOW)
    summary = db.run("daily_kit_check")
    projects = {p["id"]: p for p in db.rows("projects")}
    assert (float(projects[1]["kitting_rate"]), projects[1]["shortage_items_count"], projects[1]["material_status"],
            projects[1]["health"]) == (75.0, 1, "缺料", "H1")
    assert (float(projects[3]["kitting_rate"]), projects[3]["health"]) == (25.0, "H3")
    assert projects[2]["health"] == "H1" and projects[2]["kitting_rate"] is None  # no BOM lines: left alone
    assert summary["result"]["total_synced"] == 2 and summary["result"]["significant_count"] == 2
    assert db.alerts("KIT_RATE_LOW") == {ok: "WARNING"}


@case("check_delivery_delay")
def _(db):
    ids = {k: db.add("purchase_orders", order_no=f"PO{k}", order_title="po", project_id=1, required_date=day(-k),
                     status="CONFIRMED") for k in (0, 1, 6, 7)}
    db.add("purchase_orders", order_no="done", project_id=1, required_date=day(-9), status="RECEIVED")
    db.run("check_delivery_delay")
    assert db.alerts() == {ids[1]: "WARNING", ids[6]: "WARNING", ids[7]: "CRITICAL"}
    dedupes(db, "check_delivery_delay")


@case("check_task_deadline_reminder")
def _(db):
    ids = {h: db.add("task_unified", task_code=f"T{h}", title=f"t{h}", assignee_id=OWNER, status="IN_PROGRESS",
                     deadline=NOW + timedelta(hours=h)) for h in (-1, 0, 1, 24, 25)}
    db.add("task_unified", task_code="done", title="d", status="COMPLETED", deadline=NOW + timedelta(hours=2))
    db.run("check_task_deadline_reminder")
    assert db.alerts() == {ids[1]: "INFO", ids[24]: "INFO"}
    with db.engine.begin() as conn:  # acknowledged alerts still block for 24 h
        conn.execute(sa.update(t.alert_records).values(status="ACKNOWLEDGED"))
    db.run("check_task_deadline_reminder", now=NOW + timedelta(hours=1))
    assert db.alerts() == {ids[1]: "INFO", ids[24]: "INFO", ids[25]: "INFO"}  # only the task now within 24 h


@case("check_overdue_issues")
def _(db):
    ids = {k: db.add("issues", issue_no=f"I{k}", project_id=1, title=f"i{k}", status="OPEN", assignee_id=OWNER,
                     due_date=day(-k)) for k in (0, 1, 2, 3, 6, 7)}
    db.add("issues", issue_no="r", project_id=1, title="r", status="RESOLVED", due_date=day(-10))
    db.run("check_overdue_issues")
    assert db.alerts() == {ids[1]: "WARNING", ids[2]: "WARNING", ids[3]: "CRITICAL", ids[6]: "CRITICAL", ids[7]: "URGENT"}
    assert all(a["target_type"] == "ISSUE" for a in db.rows("alert_records"))
    dedupes(db, "check_overdue_issues", now=NOW + timedelta(hours=1))


@case("check_work_report_timeout")
def _(db):
    silent = db.add("work_order", work_order_no="W1", project_id=1, status="STARTED", actual_start_time=NOW - timedelta(hours=25))
    reported = db.add("work_order", work_order_no="W2", project_id=1, status="STARTED", actual_start_time=NOW - timedelta(hours=90))
    db.add("work_report", work_order_id=reported, report_time=NOW - timedelta(hours=23))
    stale = db.add("work_order", work_order_no="W3", project_id=1, status="ASSIGNED", actual_start_time=NOW - timedelta(hours=90))
    db.add("work_report", work_order_id=stale, report_time=NOW - timedelta(hours=30))
    db.add("work_order", work_order_no="W4", project_id=1, status="ASSIGNED")
    db.add("work_order", work_order_no="W5", project_id=1, status="COMPLETED", actual_start_time=NOW - timedelta(hours=90))
    db.run("check_work_report_timeout")
    assert db.alerts() == {silent: "WARNING", stale: "WARNING"}
    assert db.rows("alert_records", t.alert_records.c.target_id == stale)[0]["trigger_value"] == "30"


@case("check_presale_workorder_timeout")
def _(db):
    ids = {d: db.add("presale_support_ticket", ticket_no=f"S{d}", title="t", ticket_type="CONSULT", applicant_id=SALES,
                     assignee_id=None if d == 5 else OWNER, status="PENDING", created_at=NOW - timedelta(days=d)) for d in (3, 4, 5)}
    db.run("check_presale_workorder_timeout")
    got = {n["source_id"]: (n["user_id"], n["priority"]) for n in db.notices("PRESALE_TICKET_TIMEOUT")}
    assert got == {ids[4]: (OWNER, "NORMAL"), ids[5]: (SALES, "HIGH")}
    db.run("check_presale_workorder_timeout", now=NOW + timedelta(hours=2))
    assert len(db.notices("PRESALE_TICKET_TIMEOUT")) == 2  # once per ticket and day


@case("calculate_progress_summary")
def _(db):
    for status in ("DONE", "TODO"):
        db.add("tasks", project_id=1, task_name=status, status=status)
    db.add("project_milestones", project_id=1, milestone_name="m", status="COMPLETED")
    db.add("project_milestones", project_id=1, milestone_name="n", status="PENDING")
    db.add("project_milestones", project_id=1, milestone_name="o", status="PENDING")
    db.run("calculate_progress_summary")
    assert float(db.rows("projects")[0]["progress_pct"]) == round(0.6 * 50 + 0.4 * 100 / 3, 2)


@case("generate_production_daily_reports")
def _(db):
    db.add("workshop", id=1, workshop_name="一车间", is_active=True)
    db.add("worker", workshop_id=1, status="ACTIVE")
    db.add("worker", workshop_id=1, status="LEAVE")
    y = NOW - timedelta(days=1)
    wo = db.add("work_order", work_order_no="W", project_id=1, workshop_id=1, status="COMPLETED", plan_qty=10, completed_qty=8,
                standard_hours=6, created_at=y)
    db.add("work_order", work_order_no="W0", project_id=1, workshop_id=1, status="PENDING", plan_qty=5, created_at=NOW)
    db.add("work_report", work_order_id=wo, report_time=y, work_hours=10, completed_qty=8, qualified_qty=6, defect_qty=2)
    db.run("generate_production_daily_reports", now=NOW.replace(hour=5))
    rows = db.rows("production_daily_report")
    plant = next(r for r in rows if r["workshop_id"] is None)
    assert (plant["report_date"], plant["plan_qty"], plant["completed_qty"], float(plant["pass_rate"]),
            float(plant["overtime_hours"]), plant["leave_count"]) == (day(-1), 10, 8, 75.0, 2.0, 1)
    db.run("generate_production_daily_reports", now=NOW.replace(hour=6))
    assert len(db.rows("production_daily_report")) == len(rows)  # the day is replaced, not duplicated


@case("generate_shortage_daily_report")
def _(db):
    db.add("material_shortages", id=1, project_id=1, material_code="M", material_name="m", shortage_qty=1, required_date=day(-2),
           status="OPEN")
    db.run("generate_shortage_alerts", now=NOW - timedelta(days=1))
    db.add("material_arrivals", expected_date=day(-1), actual_date=day(-1), is_delayed=False)
    db.add("material_arrivals", expected_date=day(-1), actual_date=None, is_delayed=True)
    db.run("generate_shortage_daily_report", now=NOW.replace(hour=5, minute=15))
    row = db.rows("mat_shortage_daily_report")[0]
    assert (row["report_date"], row["new_alerts"], row["level4_count"], row["pending_alerts"], row["expected_arrivals"],
            row["delayed_arrivals"], float(row["on_time_rate"])) == (day(-1), 1, 1, 1, 2, 1, 50.0)


@case("generate_job_duty_tasks")
def _(db):
    db.add("job_duty_template", department_id=1, duty_name="日报", frequency="DAILY", auto_generate=True, is_active=True,
           generate_before_days=None, deadline_offset_days=1)
    db.add("job_duty_template", department_id=1, duty_name="周会", frequency="WEEKLY", day_of_week=TODAY.isoweekday() % 7 + 2,
           auto_generate=True, is_active=True, generate_before_days=3)
    db.add("job_duty_template", department_id=1, duty_name="off", frequency="DAILY", auto_generate=False, is_active=True)
    db.run("generate_job_duty_tasks")
    tasks = db.rows("task_unified")
    assert {(x["title"], x["plan_start_date"]) for x in tasks} == {("日报", day(3)), ("周会", day(2))}
    assert len(tasks) == 12 and tasks[0]["task_code"] == f"TASK-{TODAY:%y%m%d}-001" and tasks[0]["tags"] == ["岗位职责"]
    db.run("generate_job_duty_tasks", now=NOW + timedelta(hours=1))
    assert len(db.rows("task_unified")) == 12


@case("check_opportunity_stage_timeout")
def _(db):
    ids = {d: db.add("opportunities", opp_code=f"O{d}", opp_name=f"商机{d}", stage="PROPOSAL", owner_id=SALES,
                     created_at=NOW, updated_at=NOW - timedelta(days=d)) for d in (10, 11, 16)}
    db.add("opportunities", opp_code="won", opp_name="w", stage="WON", owner_id=SALES, created_at=NOW, updated_at=NOW - timedelta(days=90))
    db.run("check_opportunity_stage_timeout")
    got = {n["source_id"]: n["priority"] for n in db.notices("OPPORTUNITY_STAGE_TIMEOUT")}
    assert got == {ids[11]: "NORMAL", ids[16]: "HIGH"}
    assert db.notices("OPPORTUNITY_STAGE_TIMEOUT")[0]["extra_data"]["opportunity_name"] == "商机11"


@case("check_issue_timeout_escalation")
def _(db):
    low = db.add("issues", title="low", priority="LOW", status="OPEN", created_at=NOW - timedelta(days=30), updated_at=NOW - timedelta(days=15))
    high = db.add("issues", title="high", priority="HIGH", status="REOPENED", created_at=NOW, updated_at=NOW - timedelta(days=4))
    fresh = db.add("issues", title="m", priority="MEDIUM", status="OPEN", created_at=NOW, updated_at=NOW - timedelta(days=6))
    urgent = db.add("issues", title="u", priority="URGENT", status="OPEN", created_at=NOW, updated_at=NOW - timedelta(days=60))
    db.run("check_issue_timeout_escalation")
    db.run("check_issue_timeout_escalation", now=NOW + timedelta(days=1))  # the raise restarted the clock
    assert {i["id"]: i["priority"] for i in db.rows("issues")} == {low: "MEDIUM", high: "URGENT", fresh: "MEDIUM", urgent: "URGENT"}


@case("calculate_project_health")
def _(db):
    for pid, status, end in ((2, "ST30", 90), (3, "ST14", 90), (4, "ST05", 7), (5, "ST05", 8)):
        db.add("projects", id=pid, project_name=f"p{pid}", status=status, health="H1", progress_pct=100, planned_start_date=day(-10),
               planned_end_date=day(end), is_active=True, is_archived=False)
    db.add("projects", id=6, project_name="blocked task", status="ST05", health="H1", is_active=True, is_archived=False)
    db.add("tasks", project_id=6, task_name="b", status="BLOCKED")
    db.run("calculate_project_health")
    assert {p["id"]: p["health"] for p in db.rows("projects")} == {1: "H1", 2: "H4", 3: "H3", 4: "H2", 5: "H1", 6: "H3"}
    logs = db.rows("project_status_logs")
    assert len(logs) == 4 and logs[0]["change_type"] == "HEALTH_AUTO_CALCULATED" and logs[0]["changed_by"] is None
    db.run("calculate_project_health", now=NOW + timedelta(hours=1))
    assert len(db.rows("project_status_logs")) == 4  # logged on a change only


@case("daily_health_snapshot")
def _(db):
    db.add("projects", id=2, project_name="archived", status="ST30", health="H1", is_active=True, is_archived=True)
    db.add("issues", project_id=1, title="b", status="OPEN", is_blocking=True)
    db.run("daily_health_snapshot", now=NOW.replace(hour=2))
    db.run("daily_health_snapshot", now=NOW.replace(hour=3))
    snaps = {s["project_id"]: s for s in db.rows("project_health_snapshots")}
    assert len(db.rows("project_health_snapshots")) == 2
    assert (snaps[2]["overall_health"], snaps[2]["health_score"], snaps[1]["blocking_issues"]) == ("H4", 0, 1)


@case("daily_spec_match_check")
def _(db):
    db.add("technical_spec_requirements", project_id=1, material_code=None, material_name="气缸", specification="气缸 SC63x100 行程=100",
           brand="SMC", model="SC63", key_parameters={"行程": 100}, requirement_level="STRICT")
    db.add("materials", material_code="M1", brand="SMC")
    po = db.add("purchase_orders", order_no="PO", project_id=1, status="APPROVED")
    good = db.add("purchase_order_items", order_id=po, material_code="M1", specification="气缸 SC63x100 行程=100")
    bad = db.add("purchase_order_items", order_id=po, material_code="M2", specification="气缸 SC63x120 行程=120")
    summary = db.run("daily_spec_match_check")
    status = {r["match_target_id"]: r["match_status"] for r in db.rows("spec_match_records")}
    assert status == {good: "MATCHED", bad: "MISMATCHED"} and summary["result"] == {"checked": 2, "mismatched": 1}
    assert db.alerts("SPEC_MISMATCH") == {bad: "WARNING"}
    assert db.run("daily_spec_match_check", now=NOW + timedelta(days=1))["result"]["checked"] == 0


@case("check_blocking_issues")
def _(db):
    flag = db.add("issues", title="flag", status="OPEN", is_blocking=True, project_id=1, created_at=NOW - timedelta(days=3))
    kind = db.add("issues", title="type", status="IN_PROGRESS", issue_type="BLOCKER", project_id=1)
    db.add("issues", title="urgent only", status="OPEN", priority="URGENT", project_id=1)
    db.add("issues", title="done", status="RESOLVED", is_blocking=True, project_id=1)
    db.run("check_blocking_issues")
    assert db.alerts() == {flag: "CRITICAL", kind: "CRITICAL"}
    dedupes(db, "check_blocking_issues", now=NOW + timedelta(hours=1))


@case("check_timeout_issues")
def _(db):
    stale = db.add("issues", title="s", priority="MEDIUM", status="OPEN", created_at=NOW, updated_at=NOW - timedelta(days=8))
    db.add("issues", title="f", priority="MEDIUM", status="OPEN", created_at=NOW, updated_at=NOW - timedelta(days=6))
    db.run("check_timeout_issues")
    assert db.rows("issues", t.issues.c.id == stale)[0]["priority"] == "HIGH"
    follow = db.rows("issue_follow_up_records")
    assert len(follow) == 1 and follow[0]["operator_id"] == 1 and follow[0]["old_status"] == follow[0]["new_status"] == "OPEN"


@case("daily_issue_statistics_snapshot")
def _(db):
    for status, prio in (("OPEN", "URGENT"), ("OPEN", "LOW"), ("IN_PROGRESS", None), ("RESOLVED", "HIGH")):
        db.add("issues", project_id=1, title=status, status=status, priority=prio, due_date=day(-1), created_at=NOW, updated_at=NOW)
    db.run("daily_issue_statistics_snapshot")
    db.run("daily_issue_statistics_snapshot", now=NOW + timedelta(hours=1))
    rows = db.rows("issue_statistics_snapshots")
    assert len(rows) == 1
    r = rows[0]
    assert (r["total_issues"], r["open_issues"], r["processing_issues"], r["urgent_issues"], r["medium_priority_issues"],
            r["overdue_issues"], r["project_distribution"]) == (4, 2, 1, 1, 1, 3, {"1": 4})


@case("check_milestone_status_and_adjust_payments")
def _(db):
    late = db.add("project_milestones", project_id=1, milestone_name="FAT", planned_date=day(-10), actual_date=day(-2), status="DELAYED")
    early = db.add("project_milestones", project_id=1, milestone_name="SAT", planned_date=day(10), actual_date=day(-1), status="COMPLETED")
    p1 = db.add("project_payment_plans", project_id=1, contract_id=1, payment_name="到货款", planned_date=day(-10), milestone_id=late,
                status="PENDING", planned_amount=10)
    p2 = db.add("project_payment_plans", project_id=1, contract_id=1, payment_name="验收款", planned_date=day(10), milestone_id=early,
                status="INVOICED", planned_amount=10)
    db.add("project_payment_plans", project_id=1, contract_id=1, payment_name="paid", planned_date=day(10), milestone_id=early,
           status="COMPLETED", planned_amount=10)
    assert db.run("check_milestone_status_and_adjust_payments")["result"]["adjusted"] == 2
    plans = {p["id"]: p for p in db.rows("project_payment_plans")}
    assert (plans[p1]["planned_date"], plans[p2]["planned_date"]) == (day(-2), day(-1))
    assert json.loads(plans[p1]["remark"])[0]["old_value"] == str(day(-10))
    assert {n["user_id"] for n in db.notices("PAYMENT_ADJUSTMENT")} == {SALES, PM, FINANCE}
    assert db.run("check_milestone_status_and_adjust_payments", now=NOW + timedelta(hours=1))["result"]["adjusted"] == 0


@case("check_cost_overrun_alerts")
def _(db):
    ids = {}
    for pct in (89, 90, 109, 110, 120):
        ids[pct] = db.add("projects", project_name=f"p{pct}", budget_amount=1000, actual_cost=pct * 10, is_active=True)
    via_costs = db.add("projects", project_name="costs", budget_amount=1000, actual_cost=0, is_active=True)
    db.add("project_costs", project_id=via_costs, amount=1150)
    approved = db.add("projects", project_name="approved", budget_amount=1000, actual_cost=1150, is_active=True)
    db.add("project_budgets", project_id=approved, status="APPROVED", is_active=True, total_amount=2000)
    db.run("check_cost_overrun_alerts")
    assert db.alerts() == {ids[90]: "WARNING", ids[109]: "WARNING", ids[110]: "CRITICAL", ids[120]: "URGENT", via_costs: "CRITICAL"}
    with db.engine.begin() as conn:
        conn.execute(sa.update(t.projects).where(t.projects.c.id == ids[90]).values(actual_cost=1250))
    dedupes(db, "check_cost_overrun_alerts")  # refreshed, not duplicated
    assert db.alerts()[ids[90]] == "URGENT"


@case("run_ecn_scheduler")
def _(db):
    e = db.add("ecn", ecn_no="ECN1", ecn_title="变更", applicant_id=SALES)
    db.add("ecn_evaluations", ecn_id=e, eval_dept="工艺", evaluator_id=None, status="PENDING", created_at=NOW - timedelta(days=4))
    db.add("ecn_evaluations", ecn_id=e, eval_dept="质量", evaluator_id=OWNER, status="PENDING", created_at=NOW - timedelta(days=2))
    late = db.add("ecn_approvals", ecn_id=e, approval_level=1, approver_id=FINANCE, status="PENDING", due_date=NOW - timedelta(days=9))
    db.add("ecn_tasks", ecn_id=e, task_name="改图", assignee_id=PM, planned_end=day(-1), status="IN_PROGRESS")
    db.run("run_ecn_scheduler")
    got = {n["user_id"]: n["priority"] for n in db.notices("ECN_OVERDUE_ALERT")}
    assert got == {SALES: "HIGH", FINANCE: "URGENT", PM: "HIGH"}
    assert db.rows("ecn_approvals", t.ecn_approvals.c.id == late)[0]["is_overdue"] is True


@case("check_payment_reminder")
def _(db):
    db.add("contracts", id=2, contract_code="HT2", project_id=1, sales_owner_id=None)
    ids = {d: db.add("project_payment_plans", project_id=1, contract_id=2 if d == 3 else 1, payment_name=f"款{d}", planned_date=day(d),
                     status="PENDING", planned_amount=5) for d in (-1, 0, 3, 4, 7, 8)}
    db.run("check_payment_reminder")
    got = {n["source_id"]: (n["user_id"], n["priority"]) for n in db.notices("PAYMENT_PLAN_UPCOMING")}
    assert got == {ids[0]: (SALES, "HIGH"), ids[3]: (PM, "HIGH"), ids[4]: (SALES, "NORMAL"), ids[7]: (SALES, "NORMAL")}
    db.run("check_payment_reminder", now=NOW + timedelta(hours=3))
    assert len(db.notices("PAYMENT_PLAN_UPCOMING")) == 4


@case("check_equipment_maintenance_reminder")
def _(db):
    ids = {d: db.add("equipment", equipment_code=f"E{d}", equipment_name="e", is_active=True, next_maintenance_date=day(d))
           for d in (-1, 1, 3, 7, 8)}
    db.run("check_equipment_maintenance_reminder")
    got = {n["source_id"]: (n["user_id"], n["priority"]) for n in db.notices("EQUIPMENT_MAINTENANCE_REMINDER")}
    assert got == {ids[1]: (EQUIP, "URGENT"), ids[3]: (EQUIP, "HIGH"), ids[7]: (EQUIP, "NORMAL")}


@case("calculate_response_metrics")
def _(db):
    y = NOW - timedelta(days=1)
    for i, (ack, end) in enumerate(((2, 5), (4, None))):
        db.add("alert_records", alert_no=f"X{i}", rule_id=1, target_id=i, alert_level="WARNING", status="RESOLVED" if end else "ACKNOWLEDGED",
               triggered_at=y.replace(hour=6), acknowledged_at=y.replace(hour=6 + ack), acknowledged_by=OWNER,
               handle_end_at=y.replace(hour=6 + end) if end else None, project_id=1, created_at=y, updated_at=y)
    summary = db.run("calculate_response_metrics", now=NOW.replace(hour=1))
    assert summary["result"]["response"]["avg"] == 3.0 and summary["result"]["response_distribution"]["1-4h"] == 1
    row = db.rows("alert_statistics")[0]
    assert (row["stat_date"], row["total_alerts"], float(row["avg_response_time"]), float(row["avg_resolve_time"])) == (day(-1), 2, 3.0, 3.0)


@case("calculate_monthly_labor_cost_task")
def _(db):
    db.add("hourly_rate_configs", config_type="USER", user_id=OWNER, hourly_rate=250, is_active=True)
    db.add("hourly_rate_configs", config_type="ROLE", role_id=1, hourly_rate=180, is_active=True)
    db.add("hourly_rate_configs", config_type="DEFAULT", hourly_rate=120, is_active=True)
    for user, hours, status in ((OWNER, 6, "APPROVED"), (OWNER, 4, "APPROVED"), (FINANCE, 5, "APPROVED"), (PM, 1, "APPROVED"),
                                (PM, 9, "DRAFT")):
        db.add("timesheet", user_id=user, project_id=1, work_date=day(-12), hours=hours, status=status)
    march = NOW.replace(day=1, hour=2)
    summary = db.run("calculate_monthly_labor_cost_task", now=march)
    assert summary["result"]["total_cost"] == 10 * 250 + 5 * 180 + 1 * 120
    db.run("calculate_monthly_labor_cost_task", now=march)  # same month again: same rows, same total
    costs = db.rows("project_costs")
    assert len(costs) == 3 and costs[0]["cost_date"].isoformat() == "2026-02-28"
    assert float(db.rows("projects")[0]["actual_cost"]) == 3520.0
    assert db.alerts("COST_OVERRUN") == {1: "URGENT"}  # budget 100


@case("sales_reminder_scan")
def _(db):
    db.add("approval_workflow_steps", workflow_id=1, step_order=1, approver_id=FINANCE)
    db.add("approval_records", entity_type="QUOTE", entity_id=1, workflow_id=1, current_step=1, status="PENDING",
           created_at=NOW - timedelta(hours=30))
    v = db.add("quote_versions", valid_until=day(3))
    db.add("quotes", quote_code="Q1", status="SUBMITTED", owner_id=SALES, current_version_id=v)
    plan = db.add("project_payment_plans", project_id=1, contract_id=1, payment_name="尾款", planned_date=day(-20), status="PENDING",
                  planned_amount=10, actual_amount=0)
    db.add("leads", lead_code="L1", status="QUALIFYING", owner_id=OWNER, updated_at=NOW - timedelta(days=4))
    db.run("sales_reminder_scan")
    assert [(n["user_id"], n["priority"]) for n in db.notices("APPROVAL_PENDING")] == [(FINANCE, "NORMAL")]
    assert [(n["user_id"], n["priority"]) for n in db.notices("QUOTE_EXPIRING")] == [(SALES, "HIGH")]
    assert {n["user_id"] for n in db.notices("PAYMENT_OVERDUE")} == {SALES, PM, FINANCE}
    assert [n["user_id"] for n in db.notices("GATE_TIMEOUT")] == [OWNER]
    disputes = db.rows("receivable_disputes")
    db.run("sales_reminder_scan", now=NOW + timedelta(days=1))
    assert len(disputes) == 1 and disputes[0]["payment_id"] == plan and len(db.rows("receivable_disputes")) == 1


OWN_TESTS = {"check_alert_escalation": "test_lifecycle.py", "send_alert_notifications": "test_delivery.py",
             "retry_failed_notifications": "test_delivery.py"}


def test_every_service_has_a_case():
    assert set(CASES) | set(OWN_TESTS) == {s.id for s in load_pms_config().services}


@pytest.mark.parametrize("service_id", sorted(CASES))
def test_service(pms, service_id):
    CASES[service_id](pms)
