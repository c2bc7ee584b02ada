"""The PMS database as it exists: the 64 tables the scheduled services read or write.

Table and column names are those of the project-management system's MySQL schema, so
`YD_PMS_DB_URL` can point at the live database; `create_missing` adds only absent tables
(the embedded SQLite default, tests). Columns are written compactly as ``name:type``:

    pk  int  bigint  bool  date  dt  text  json  s<N> (varchar N)  n<P>_<S> (numeric)
    a trailing ``!`` means NOT NULL, ``TS`` adds created_at/updated_at (NOT NULL).
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from yd_platform.resources.app_db import engine_for

metadata = sa.MetaData()
_NUMERIC = re.compile(r"n(\d+)_(\d+)")


def _type(code: str) -> sa.types.TypeEngine:
    simple = {"int": sa.Integer(), "bigint": sa.BigInteger(), "bool": sa.Boolean(), "date": sa.Date(),
              "dt": sa.DateTime(), "text": sa.Text(), "json": sa.JSON()}
    if code in simple:
        return simple[code]
    if code.startswith("s"):
        return sa.String(int(code[1:]))
    match = _NUMERIC.fullmatch(code)
    if match:
        return sa.Numeric(int(match[1]), int(match[2]))
    raise ValueError(f"schema: unknown column type {code!r}")


def _table(name: str, spec: str, *extra: sa.SchemaItem) -> sa.Table:
    columns: list[sa.SchemaItem] = []
    for token in spec.split():
        if token == "TS":
            columns += [sa.Column("created_at", sa.DateTime, nullable=False, default=datetime.now),
                        sa.Column("updated_at", sa.DateTime, nullable=False, default=datetime.now,
                                  onupdate=datetime.now)]
            continue
        col, _, code = token.partition(":")
        if code == "pk":
            columns.append(sa.Column(col, sa.Integer, primary_key=True, autoincrement=True))
            continue
        required = code.endswith("!")
        columns.append(sa.Column(col, _type(code.rstrip("!")), nullable=not required))
    return sa.Table(name, metadata, *columns, *extra)


_ID = "id:pk"
# --- 1.1 alerting and notification ---------------------------------------------------------
alert_rules = _table("alert_rules", f"{_ID} rule_code:s50! rule_name:s100 rule_type:s30 target_type:s30 "
                     "condition_type:s20 condition_operator:s10 threshold_value:s100 alert_level:s20 "
                     "is_enabled:bool is_system:bool notify_channels:json notify_users:json notify_roles:json "
                     "description:text TS", sa.UniqueConstraint("rule_code"))
alert_records = _table("alert_records", f"{_ID} alert_no:s50! rule_id:int! target_type:s30 target_id:int! "
                       "target_no:s100 target_name:s200 project_id:int machine_id:int alert_level:s20 "
                       "severity:s20 alert_title:s200 alert_content:text alert_data:json triggered_at:dt "
                       "trigger_value:s100 threshold_value:s100 status:s20 acknowledged_by:int "
                       "acknowledged_at:dt handler_id:int handle_start_at:dt handle_end_at:dt handle_result:text "
                       "handle_note:text is_escalated:bool escalated_at:dt escalated_to:int TS",
                       sa.UniqueConstraint("alert_no"), sa.Index("ix_alert_records_target", "target_type", "target_id"),
                       sa.Index("ix_alert_records_status", "status", "alert_level"))
alert_notifications = _table("alert_notifications", f"{_ID} alert_id:int notify_channel:s20 notify_target:s200 "
                             "notify_user_id:int notify_title:s200 notify_content:text status:s20 sent_at:dt "
                             "read_at:dt error_message:text retry_count:int next_retry_at:dt TS",
                             sa.Index("ix_alert_notifications_alert", "alert_id"))
alert_statistics = _table("alert_statistics", f"{_ID} stat_date:date stat_type:s20 total_alerts:int info_alerts:int "
                          "warning_alerts:int critical_alerts:int urgent_alerts:int pending_alerts:int "
                          "processing_alerts:int resolved_alerts:int ignored_alerts:int "
                          "avg_response_time:n10_2 avg_resolve_time:n10_2 TS")
notifications = _table("notifications", f"{_ID} user_id:int! notification_type:s30 source_type:s30 source_id:int "
                       "title:s200 content:text link_url:s500 priority:s20 extra_data:json is_read:bool created_at:dt",
                       sa.Index("ix_notifications_user", "user_id", "notification_type"))
notification_settings = _table("notification_settings", f"{_ID} user_id:int email_enabled:bool sms_enabled:bool "
                               "wechat_enabled:bool system_enabled:bool alert_notifications:bool "
                               "task_notifications:bool approval_notifications:bool issue_notifications:bool "
                               "project_notifications:bool quiet_hours_start:s5 quiet_hours_end:s5 TS",
                               sa.UniqueConstraint("user_id"))
scheduler_task_configs = _table("scheduler_task_configs", f"{_ID} task_id:s100 task_name:s200 module:s200 "
                                "callable_name:s100 owner:s50 category:s50 description:text is_enabled:bool "
                                "cron_config:json dependencies_tables:json risk_level:s20 sla_config:json "
                                "updated_by:int TS", sa.UniqueConstraint("task_id"))
# --- 1.2 organisation -----------------------------------------------------------------------
users = _table("users", f"{_ID} username:s50 real_name:s50 email:s100 phone:s20 department_id:int "
               "department:s100 is_active:bool")
roles = _table("roles", f"{_ID} role_code:s50 role_name:s50 is_active:bool")
user_roles = _table("user_roles", f"{_ID} user_id:int role_id:int")
departments = _table("departments", f"{_ID} dept_name:s100 is_active:bool")
hourly_rate_configs = _table("hourly_rate_configs", f"{_ID} config_type:s20 user_id:int role_id:int dept_id:int "
                             "hourly_rate:n10_2 effective_date:date expiry_date:date is_active:bool")
# --- 1.3 projects, plans and tasks ----------------------------------------------------------
projects = _table("projects", f"{_ID} project_code:s50 project_name:s200 stage:s20 status:s20 health:s10 "
                  "progress_pct:n5_2 kitting_rate:n5_1 material_status:s20 shortage_items_count:int "
                  "planned_start_date:date planned_end_date:date budget_amount:n14_2 actual_cost:n14_2 "
                  "pm_id:int contract_id:int is_active:bool is_archived:bool")
project_milestones = _table("project_milestones", f"{_ID} project_id:int milestone_code:s50 milestone_name:s200 "
                            "milestone_type:s20 planned_date:date actual_date:date status:s20 is_key:bool "
                            "stage_code:s20 owner_id:int TS", sa.Index("ix_milestones_project", "project_id"))
project_status_logs = _table("project_status_logs", f"{_ID} project_id:int old_stage:s20 new_stage:s20 "
                             "old_status:s20 new_status:s20 old_health:s10 new_health:s10 change_type:s50 "
                             "changed_by:int changed_at:dt change_note:text")
project_health_snapshots = _table("project_health_snapshots", f"{_ID} project_id:int snapshot_date:date "
                                  "overall_health:s10 schedule_health:s10 cost_health:s10 quality_health:s10 "
                                  "resource_health:s10 health_score:int open_alerts:int open_exceptions:int "
                                  "blocking_issues:int schedule_variance:n10_2 milestone_on_track:int "
                                  "milestone_delayed:int cost_variance:n14_2 budget_used_pct:n10_2 top_risks:json")
project_budgets = _table("project_budgets", f"{_ID} project_id:int version:s20 status:s20 is_active:bool "
                         "total_amount:n14_2")
project_costs = _table("project_costs", f"{_ID} project_id:int cost_type:s50 cost_category:s50 source_module:s50 "
                       "source_type:s50 source_id:int source_no:s100 amount:n14_2 tax_amount:n14_2 cost_date:date "
                       "description:text created_by:int", sa.Index("ix_project_costs_project", "project_id"))
pmo_project_phase = _table("pmo_project_phase", f"{_ID} project_id:int phase_code:s20 plan_start_date:date "
                           "plan_end_date:date progress:int")
pmo_resource_allocation = _table("pmo_resource_allocation", f"{_ID} resource_id:int start_date:date end_date:date "
                                 "planned_hours:n10_2 status:s20")
tasks = _table("tasks", f"{_ID} project_id:int milestone_id:int task_name:s200 status:s20 owner_id:int "
               "plan_start:date plan_end:date progress_percent:int weight:n5_2",
               sa.Index("ix_tasks_project", "project_id"))
task_unified = _table("task_unified", f"{_ID} task_code:s50 title:s200 description:text task_type:s30 "
                      "source_type:s50 source_id:int project_id:int assignee_id:int assignee_name:s50 "
                      "assigner_id:int assigner_name:s50 plan_start_date:date plan_end_date:date deadline:dt "
                      "estimated_hours:n10_2 status:s20 priority:s20 is_urgent:bool tags:json category:s50 "
                      "reminder_enabled:bool reminder_before_hours:int created_by:int TS",
                      sa.UniqueConstraint("task_code"))
job_duty_template = _table("job_duty_template", f"{_ID} position_id:int department_id:int duty_name:s200 "
                           "duty_description:text frequency:s20 day_of_week:int day_of_month:int month_of_year:int "
                           "auto_generate:bool generate_before_days:int deadline_offset_days:int "
                           "default_priority:s20 estimated_hours:n10_2 is_active:bool")
timesheet = _table("timesheet", f"{_ID} user_id:int user_name:s50 project_id:int work_date:date hours:n5_2 "
                   "status:s20")
# --- 1.4 issues -----------------------------------------------------------------------------
issues = _table("issues", f"{_ID} issue_no:s50 project_id:int issue_type:s20 severity:s20 priority:s20 title:s200 "
                "description:text assignee_id:int due_date:date status:s20 is_blocking:bool last_follow_up_at:dt TS")
issue_follow_up_records = _table("issue_follow_up_records", f"{_ID} issue_id:int follow_up_type:s30 content:text "
                                 "operator_id:int! operator_name:s50 old_status:s20 new_status:s20")
_ISSUE_COUNTS = ("total_issues open_issues processing_issues resolved_issues closed_issues cancelled_issues "
                 "deferred_issues critical_issues major_issues minor_issues urgent_issues high_priority_issues "
                 "medium_priority_issues low_priority_issues defect_issues risk_issues blocker_issues "
                 "blocking_issues overdue_issues project_issues task_issues acceptance_issues "
                 "new_issues_today resolved_today closed_today").split()
issue_statistics_snapshots = _table(
    "issue_statistics_snapshots",
    f"{_ID} snapshot_date:date " + " ".join(f"{c}:int" for c in _ISSUE_COUNTS)
    + " avg_response_time:n10_2 avg_resolve_time:n10_2 avg_verify_time:n10_2 status_distribution:json "
      "severity_distribution:json priority_distribution:json category_distribution:json "
      "project_distribution:json TS")
# --- 1.5 material, shortage and purchasing --------------------------------------------------
material_shortages = _table("material_shortages", f"{_ID} project_id:int material_code:s50 material_name:s200 "
                            "shortage_qty:n10_4 required_date:date status:s20")
bom_headers = _table("bom_headers", f"{_ID} project_id:int is_latest:bool status:s20")
bom_items = _table("bom_items", f"{_ID} bom_id:int material_id:int material_code:s50 specification:s500 "
                   "quantity:n10_4 received_qty:n10_4", sa.Index("ix_bom_items_bom", "bom_id"))
materials = _table("materials", f"{_ID} material_code:s50 brand:s100")
mat_kit_check = _table("mat_kit_check", f"{_ID} work_order_id:int kit_rate:n5_2 shortage_items:int kit_status:s20 "
                       "check_time:dt")
_LEVELS = " ".join(f"level{i}_count:int" for i in range(1, 5))
mat_shortage_daily_report = _table(
    "mat_shortage_daily_report",
    f"{_ID} report_date:date new_alerts:int resolved_alerts:int pending_alerts:int overdue_alerts:int {_LEVELS} "
    "new_reports:int resolved_reports:int total_work_orders:int kit_complete_count:int kit_rate:n5_2 "
    "expected_arrivals:int actual_arrivals:int delayed_arrivals:int on_time_rate:n5_2 avg_response_minutes:n10_2 "
    "avg_resolve_hours:n10_2 stoppage_count:int stoppage_hours:n10_2 TS", sa.UniqueConstraint("report_date"))
shortage_reports = _table("shortage_reports", f"{_ID} report_time:dt resolved_at:dt")
material_arrivals = _table("material_arrivals", f"{_ID} expected_date:date actual_date:date is_delayed:bool")
technical_spec_requirements = _table("technical_spec_requirements", f"{_ID} project_id:int material_code:s50 "
                                     "material_name:s200 specification:s500 brand:s100 model:s100 "
                                     "key_parameters:json requirement_level:s20")
spec_match_records = _table("spec_match_records", f"{_ID} project_id:int spec_requirement_id:int match_type:s20 "
                            "match_target_id:int match_status:s20 match_score:n5_2 differences:json alert_id:int")
purchase_orders = _table("purchase_orders", f"{_ID} order_no:s50 order_title:s200 project_id:int "
                         "required_date:date status:s20")
purchase_order_items = _table("purchase_order_items", f"{_ID} order_id:int material_code:s50 specification:s500")
outsourcing_orders = _table("outsourcing_orders", f"{_ID} order_no:s50 order_title:s200 project_id:int "
                            "required_date:date status:s20")
# --- 1.6 production and equipment -----------------------------------------------------------
production_plan = _table("production_plan", f"{_ID} plan_no:s50 plan_name:s200 project_id:int plan_end_date:date "
                         "progress:int status:s20")
work_order = _table("work_order", f"{_ID} work_order_no:s50 task_name:s200 project_id:int workshop_id:int "
                    "status:s20 plan_qty:int completed_qty:int qualified_qty:int standard_hours:n10_2 "
                    "plan_start_date:date plan_end_date:date actual_start_time:dt created_at:dt")
work_report = _table("work_report", f"{_ID} work_order_id:int worker_id:int report_time:dt work_hours:n10_2 "
                     "completed_qty:int qualified_qty:int defect_qty:int",
                     sa.Index("ix_work_report_order", "work_order_id"))
production_daily_report = _table("production_daily_report", f"{_ID} report_date:date workshop_id:int plan_qty:int "
                                 "completed_qty:int completion_rate:n5_2 plan_hours:n10_2 actual_hours:n10_2 "
                                 "overtime_hours:n10_2 efficiency:n5_2 should_attend:int actual_attend:int "
                                 "leave_count:int total_qty:int qualified_qty:int pass_rate:n5_2 "
                                 "new_exception_count:int resolved_exception_count:int summary:text")
workshop = _table("workshop", f"{_ID} workshop_name:s100 is_active:bool")
worker = _table("worker", f"{_ID} workshop_id:int status:s20")
production_exception = _table("production_exception", f"{_ID} workshop_id:int report_time:dt resolved_at:dt")
equipment = _table("equipment", f"{_ID} equipment_code:s50 equipment_name:s200 is_active:bool "
                   "last_maintenance_date:date next_maintenance_date:date")
# --- 1.7 finance and sales ------------------------------------------------------------------
project_payment_plans = _table("project_payment_plans", f"{_ID} project_id:int contract_id:int payment_name:s200 "
                               "payment_type:s30 planned_amount:n14_2 actual_amount:n14_2 planned_date:date "
                               "milestone_id:int status:s20 remark:text TS")
invoices = _table("invoices", f"{_ID} invoice_code:s50 contract_id:int! amount:n14_2 total_amount:n14_2 "
                  "paid_amount:n14_2 status:s20 payment_status:s20 due_date:date")
contracts = _table("contracts", f"{_ID} contract_code:s50 customer_id:int project_id:int status:s20 "
                   "sales_owner_id:int")
customers = _table("customers", f"{_ID} customer_name:s200")
opportunities = _table("opportunities", f"{_ID} opp_code:s50 opp_name:s200 stage:s30 gate_status:s30 "
                       "owner_id:int TS")
leads = _table("leads", f"{_ID} lead_code:s50 status:s30 owner_id:int updated_at:dt")
quotes = _table("quotes", f"{_ID} quote_code:s50 status:s20 owner_id:int current_version_id:int")
quote_versions = _table("quote_versions", f"{_ID} valid_until:date")
approval_records = _table("approval_records", f"{_ID} entity_type:s20 entity_id:int workflow_id:int "
                          "current_step:int status:s20 created_at:dt")
approval_workflow_steps = _table("approval_workflow_steps", f"{_ID} workflow_id:int step_order:int step_name:s100 "
                                 "approver_id:int approver_role:s50")
receivable_disputes = _table("receivable_disputes", f"{_ID} payment_id:int reason_code:s30 description:text "
                             "status:s20 responsible_dept:s100 expect_resolve_date:date")
presale_support_ticket = _table("presale_support_ticket", f"{_ID} ticket_no:s50 title:s200 ticket_type:s20 "
                                "applicant_id:int assignee_id:int status:s20 created_at:dt")
# --- 1.8 ECN --------------------------------------------------------------------------------
ecn = _table("ecn", f"{_ID} ecn_no:s50 ecn_title:s200 applicant_id:int")
ecn_evaluations = _table("ecn_evaluations", f"{_ID} ecn_id:int eval_dept:s100 evaluator_id:int status:s20 "
                         "created_at:dt")
ecn_approvals = _table("ecn_approvals", f"{_ID} ecn_id:int approval_level:int approval_role:s50 approver_id:int "
                       "status:s20 due_date:dt is_overdue:bool")
ecn_tasks = _table("ecn_tasks", f"{_ID} ecn_id:int task_name:s200 assignee_id:int planned_end:date status:s20")

TABLES: dict[str, sa.Table] = dict(metadata.tables)


def nullable_columns(table: str) -> list[str]:
    """The columns of `table` the PMS lets be NULL (all but the key, the `!` ones and the
    audit timestamps): the values a service must expect to be missing."""
    return [c.name for c in TABLES[table].columns if c.nullable and not c.primary_key]


def create_missing(engine: sa.Engine) -> list[str]:
    """Create the tables that do not exist yet (never alters existing ones); returns their names."""
    existing = set(sa.inspect(engine).get_table_names())
    missing = [name for name in TABLES if name not in existing]
    metadata.create_all(engine, tables=[TABLES[name] for name in missing])
    return missing


_prepared: set[str] = set()


def pms_engine(url: str) -> sa.Engine:
    """A shared engine on the PMS database; the embedded SQLite file gets its missing tables
    on first use (an operator's database is only changed by `yd-platform pms init-db`)."""
    engine = engine_for(url)
    if url.startswith("sqlite") and url not in _prepared:
        create_missing(engine)
        _prepared.add(url)
    return engine
