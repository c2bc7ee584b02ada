"""Missing values in the PMS database: every one of the 37 services over demo data in which
every nullable column it uses (its `tables` in pms.yaml, columns from the schema) is NULL in
some rows. Each run completes, the untouched rows are still acted on, and the rows left out
are named in the run summary (table, column, ids) - on SQLite here and on MariaDB (slow).

Plus the three services that stopped on one NULL, shown on a handful of rows, and the row
guard on a value of an unexpected shape (a skip) and after a partial write (a named error,
nothing written)."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.config import load_pms_config
from yd_platform.pms.context import ServiceContext
from yd_platform.pms.demo import fill_demo
from yd_platform.pms.rows import RowError
from yd_platform.pms.runner import run_service
from yd_platform_tests.databases import scratch_database
from yd_platform_tests.pms.database import NOW, OWNER, PM, day, fast_sqlite

DEMO_DAY = date(2026, 3, 10)
CONFIG = load_pms_config()
SERVICES = [s.id for s in CONFIG.services]
# every third row of a table gets NULLs, the nullable columns spread over those rows in turn
EVERY = 3

# Which missing values make a service leave a row out, for the demo data (seed 11, 30
# projects) blanked as above. A service not listed treats every NULL it meets as the schema
# allows (no deadline, nothing paid, counts for none, ...) and skips nothing.
SKIPS = {
    "check_milestone_alerts": {("project_milestones", "planned_date")},
    "check_milestone_risk_alerts": {("project_milestones", "planned_date")},
    "check_task_delay_alerts": {("tasks", "plan_end")},
    "check_production_plan_alerts": {("production_plan", "plan_end_date")},
    "check_outsourcing_delivery_alerts": {("outsourcing_orders", "required_date")},
    "check_overdue_receivable_alerts": {("invoices", "due_date")},
    "check_workload_overload_alerts": {("tasks", "plan_start"), ("tasks", "plan_end")},
    "daily_kit_check": {("bom_items", "quantity"), ("mat_kit_check", "check_time"), ("mat_kit_check", "kit_rate")},
    "check_delivery_delay": {("purchase_orders", "required_date")},
    "check_task_deadline_reminder": {("task_unified", "deadline")},
    "check_presale_workorder_timeout": {("presale_support_ticket", "created_at")},
    "generate_production_daily_reports": {("production_exception", "report_time"), ("work_order", "created_at"),
                                          ("work_report", "report_time")},
    "generate_shortage_daily_report": {("mat_kit_check", "check_time"), ("material_arrivals", "expected_date"),
                                       ("shortage_reports", "report_time")},
    "check_milestone_status_and_adjust_payments": {("project_milestones", "actual_date"),
                                                   ("project_milestones", "planned_date")},
    "check_cost_overrun_alerts": {("projects", "budget_amount")},
    "run_ecn_scheduler": {("ecn_approvals", "due_date"), ("ecn_evaluations", "created_at"), ("ecn_evaluations", "ecn_id"),
                          ("ecn_tasks", "planned_end")},
    "check_payment_reminder": {("project_payment_plans", "planned_date")},
    "calculate_monthly_labor_cost_task": {("hourly_rate_configs", "hourly_rate"), ("projects", "budget_amount"),
                                          ("timesheet", "hours"), ("timesheet", "project_id"), ("timesheet", "user_id"),
                                          ("timesheet", "work_date")},
    "sales_reminder_scan": {("project_milestones", "planned_date"), ("project_payment_plans", "planned_date"),
                            ("quote_versions", "valid_until"), ("quotes", "current_version_id")},
}
# the push and retry find nothing to do on demo data without failed notifications
QUIET = {"retry_failed_notifications"}


def blank_out(engine: sa.Engine, tables: list[str]) -> set[tuple[str, int, str]]:
    """Set the nullable columns of `tables` to NULL in every EVERY-th row (each column in its
    share of those rows, every column in at least one); returns (table, id, column) set."""
    blanked = set()
    with engine.begin() as conn:
        for name in tables:
            table, columns = t.TABLES[name], t.nullable_columns(name)
            rows = list(conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())[::EVERY]
            if not rows or not columns:
                continue
            for j, column in enumerate(columns):
                if len(rows) >= len(columns):
                    ids = [rid for k, rid in enumerate(rows) if k % len(columns) == j]
                else:
                    ids = [rows[j % len(rows)]]
                conn.execute(sa.update(table).where(table.c.id.in_(ids)).values({column: None}))
                blanked |= {(name, rid, column) for rid in ids}
    return blanked


def as_of(service_id: str) -> datetime:
    svc = CONFIG.service(service_id)
    minute, hour = svc.cron.split()[:2]
    return datetime(2026, 3, 10, 9 if hour == "*" else int(hour), int(minute))


def check_service_over_blanks(service_id: str, engine: sa.Engine) -> None:
    svc = CONFIG.service(service_id)
    blanked = blank_out(engine, svc.tables)
    assert {table for table, _, _ in blanked} == {name for name in svc.tables if t.nullable_columns(name)} - empty_tables(engine)
    summary = run_service(service_id, engine, now=as_of(service_id), config=CONFIG)

    # the untouched rows were acted on
    if service_id not in QUIET:
        assert summary["rows_written"], f"{service_id} wrote nothing: {summary}"
    if svc.rules:
        assert summary["alerts_created"] > 0, f"{service_id} raised no alert: {summary}"
    # the rows left out are named, each one a row the test blanked in that column
    skipped = summary["skipped"]
    assert {(s["table"], s["column"]) for s in skipped} == SKIPS.get(service_id, set()), skipped
    for entry in skipped:
        assert entry["reason"].startswith("NULL") and entry["count"] == len(entry["ids"]) > 0, entry
        assert {(entry["table"], rid, entry["column"]) for rid in entry["ids"]} <= blanked, entry


def empty_tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {name for name, table in t.TABLES.items()
                if not conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()}


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("pms_demo") / "demo.db"
    engine = fast_sqlite(path)
    fill_demo(engine, projects=30, seed=11, today=DEMO_DAY)
    engine.dispose()
    return str(path)


@pytest.mark.parametrize("service_id", SERVICES)
def test_service_over_missing_values_on_sqlite(service_id, demo_sqlite, tmp_path, yd_home):
    shutil.copy(demo_sqlite, tmp_path / "pms.db")
    engine = fast_sqlite(tmp_path / "pms.db")
    try:
        check_service_over_blanks(service_id, engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def mariadb_engine():
    """One scratch MariaDB database for the module; each test refills the demo data."""
    with scratch_database() as url:
        engine = sa.create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("service_id", SERVICES)
def test_service_over_missing_values_on_mariadb(service_id, mariadb_engine, yd_home):
    fill_demo(mariadb_engine, projects=30, seed=11, today=DEMO_DAY, replace=True)
    check_service_over_blanks(service_id, mariadb_engine)


# ---- the three services that used to stop on one NULL --------------------------------------------

def test_a_ticket_without_created_at_is_named_and_the_others_are_told(pms):
    old = pms.add("presale_support_ticket", ticket_no="PS1", title="方案", ticket_type="CONSULT", applicant_id=OWNER,
                  status="PENDING", created_at=NOW - timedelta(days=10))
    blank = pms.add("presale_support_ticket", ticket_no="PS2", title="报价", ticket_type="QUOTATION", applicant_id=OWNER,
                    status="PENDING", created_at=None)
    summary = pms.run("check_presale_workorder_timeout")
    assert [n["source_id"] for n in pms.notices("PRESALE_TICKET_TIMEOUT")] == [old]
    assert summary["skipped"] == [{"table": "presale_support_ticket", "column": "created_at", "reason": "NULL",
                                   "count": 1, "ids": [blank]}]


def test_a_milestone_without_planned_date_leaves_its_plans_alone_and_the_others_move(pms):
    moving = pms.add("project_milestones", project_id=1, milestone_name="交付", status="DELAYED", planned_date=day(-10),
                     actual_date=day(-2), owner_id=OWNER)
    blank = pms.add("project_milestones", project_id=1, milestone_name="验收", status="DELAYED", planned_date=None,
                    actual_date=day(-1), owner_id=OWNER)
    follows = pms.add("project_payment_plans", project_id=1, contract_id=1, payment_name="二期", planned_date=day(-10),
                      milestone_id=moving, status="PENDING", created_at=NOW, updated_at=NOW)
    stays = pms.add("project_payment_plans", project_id=1, contract_id=1, payment_name="尾款", planned_date=day(-5),
                    milestone_id=blank, status="PENDING", created_at=NOW, updated_at=NOW)
    summary = pms.run("check_milestone_status_and_adjust_payments")
    plans = {p["id"]: p["planned_date"] for p in pms.rows("project_payment_plans")}
    assert plans == {follows: day(-2), stays: day(-5)}
    assert summary["result"]["adjusted"] == 1
    assert summary["skipped"] == [{"table": "project_milestones", "column": "planned_date", "reason": "NULL",
                                   "count": 1, "ids": [blank]}]


def test_a_rate_without_hourly_rate_falls_through_to_the_next_tier(pms):
    blank = pms.add("hourly_rate_configs", config_type="USER", user_id=OWNER, hourly_rate=None, is_active=True)
    pms.add("hourly_rate_configs", config_type="DEFAULT", hourly_rate=80, is_active=True)
    for uid in (OWNER, PM):
        pms.add("timesheet", user_id=uid, project_id=1, work_date=date(2026, 2, 10), hours=5, status="APPROVED")
    no_hours = pms.add("timesheet", user_id=PM, project_id=1, work_date=date(2026, 2, 11), hours=None, status="APPROVED")
    summary = pms.run("calculate_monthly_labor_cost_task", now=datetime(2026, 3, 1, 2, 0))
    costs = {c["source_id"]: float(c["amount"]) for c in pms.rows("project_costs")}
    assert costs == {OWNER: 400.0, PM: 400.0}
    assert [(s["table"], s["column"], s["ids"]) for s in summary["skipped"]] == [
        ("hourly_rate_configs", "hourly_rate", [blank]), ("timesheet", "hours", [no_hours])]


# ---- the row guard --------------------------------------------------------------------------------

def test_a_value_of_an_unexpected_shape_skips_its_row_only(pms):
    old = NOW - timedelta(hours=30)
    ids = [pms.add("alert_records", alert_no=f"OLD{i}", rule_id=1, target_id=i, alert_level="INFO", status="PENDING",
                   triggered_at=old, created_at=old, updated_at=old, alert_data=data)
           for i, data in enumerate(({"note": "ok"}, ["not", "an", "object"]))]
    summary = pms.run("check_alert_escalation")
    assert summary["alerts_escalated"] == 1
    assert [a["alert_level"] for a in pms.rows("alert_records")] == ["WARNING", "INFO"]
    [entry] = summary["skipped"]
    assert (entry["table"], entry["ids"], entry["column"]) == ("alert_records", [ids[1]], None)
    assert entry["reason"].startswith("ValueError") or entry["reason"].startswith("TypeError")


def test_the_guard_skips_a_row_that_wrote_nothing_and_stops_on_one_that_did(pms):
    cfg = load_pms_config()
    first = pms.add("issues", title="a", priority="LOW", status="OPEN", created_at=NOW, updated_at=NOW)
    second = pms.add("issues", title="b", priority="LOW", status="OPEN", created_at=NOW, updated_at=NOW, due_date=None)
    rows = {r["id"]: r for r in pms.rows("issues")}
    with pytest.raises(RowError, match=rf"issues id {second}: TypeError: boom; NULL in this row: .*due_date"):
        with pms.engine.begin() as conn:
            ctx = ServiceContext(conn=conn, now=NOW, config=cfg, service=cfg.service("check_timeout_issues"))
            with ctx.row("issues", rows[first]):  # fails before writing: a skip, its notice dropped
                ctx.notice(OWNER, "TEST", "t", source_type="issue", source_id=first)
                raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")
            assert ctx.skipped.summary()[0]["ids"] == [first] and ctx._pending_notices == []
            with ctx.row("issues", rows[second]):  # fails after writing: the run cannot leave it half done
                conn.execute(sa.update(t.issues).where(t.issues.c.id == second).values(priority="MEDIUM"))
                raise TypeError("boom")
    assert {i["priority"] for i in pms.rows("issues")} == {"LOW"}  # one transaction: nothing kept


def test_a_database_error_in_a_row_is_never_skipped_and_names_the_row(pms):
    cfg = load_pms_config()
    issue = pms.add("issues", title="a", priority="LOW", status="OPEN", created_at=NOW, updated_at=NOW)
    row = pms.rows("issues")[0]
    with pytest.raises(sa.exc.IntegrityError, match="operator_id") as err:
        with pms.engine.begin() as conn:
            ctx = ServiceContext(conn=conn, now=NOW, config=cfg, service=cfg.service("check_timeout_issues"))
            with ctx.row("issues", row):  # operator_id is NOT NULL in the PMS
                conn.execute(sa.insert(t.issue_follow_up_records).values(issue_id=issue, operator_id=None))
    assert f"while processing issues id {issue}" in err.value.__notes__
    assert pms.rows("issue_follow_up_records") == []
