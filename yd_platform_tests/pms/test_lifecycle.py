"""Alert lifecycle: unique numbers across runs of a day, acknowledgement and resolution,
escalation over simulated hours on the INFO < WARNING < CRITICAL < URGENT ladder, and an
SLA breach raising its own alert."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from yd_platform.cli.main import main
from yd_platform.pms import schema as t
from yd_platform.pms.config import load_pms_config
from yd_platform.pms.lifecycle import AlertStateError, apply
from yd_platform_tests.pms.database import NOW, OWNER, PM, day


def test_alert_numbers_continue_across_runs_of_a_day(pms):
    for k in range(3):
        pms.add("tasks", project_id=1, task_name=f"t{k}", status="TODO", owner_id=OWNER, plan_end=day(-1))
    pms.run("check_task_delay_alerts")
    pms.add("tasks", project_id=1, task_name="later", status="TODO", owner_id=OWNER, plan_end=day(-2))
    pms.run("check_task_delay_alerts", now=NOW + timedelta(hours=1))  # hourly job, same day
    numbers = [a["alert_no"] for a in pms.rows("alert_records")]
    assert numbers == [f"TD{NOW:%Y%m%d}{i:04d}" for i in range(1, 5)]
    pms.run("check_task_delay_alerts", now=NOW + timedelta(days=1))  # nothing new: all still PENDING
    assert len(pms.rows("alert_records")) == 4


def test_acknowledged_alert_no_longer_blocks_and_resolution_fills_the_handling(pms):
    pms.add("tasks", project_id=1, task_name="t", status="TODO", owner_id=OWNER, plan_end=day(-1))
    pms.run("check_task_delay_alerts")
    first = pms.rows("alert_records")[0]["alert_no"]
    with pms.engine.begin() as conn:
        apply(conn, first, "acknowledge", OWNER, NOW)
        with pytest.raises(AlertStateError, match="ACKNOWLEDGED; cannot acknowledge it: acknowledge is allowed only from PENDING"):
            apply(conn, first, "acknowledge", OWNER, NOW)
    assert pms.run("check_task_delay_alerts", now=NOW + timedelta(hours=1))["alerts_created"] == 1
    with pms.engine.begin() as conn:
        apply(conn, first, "resolve", PM, NOW + timedelta(hours=2), note="补料到位")
        with pytest.raises(AlertStateError, match="is RESOLVED; cannot ignore it"):
            apply(conn, first, "ignore", PM, NOW)
        with pytest.raises(AlertStateError, match="no alert"):
            apply(conn, "NOPE", "close", PM, NOW)
    done = pms.rows("alert_records", t.alert_records.c.alert_no == first)[0]
    assert (done["status"], done["acknowledged_by"], done["handler_id"], done["handle_note"]) == ("RESOLVED", OWNER, PM, "补料到位")
    assert done["handle_start_at"] == done["handle_end_at"] == NOW + timedelta(hours=2)


def _alert_cli(capsys, pms, *argv) -> tuple[int, str]:
    code = main(["pms", "alert", *argv, "--db", pms.engine.url.render_as_string(hide_password=False)])
    out = capsys.readouterr()
    return code, out.err.strip() or out.out.strip()


def test_alert_cli_refuses_unknown_and_inactive_users_and_writes_nothing(pms, capsys):
    pms.add("users", id=40, username="gone", real_name="离职员工", is_active=False)
    pms.add("users", id=41, username="unset", real_name="未标记", is_active=None)
    pms.add("tasks", project_id=1, task_name="t", status="TODO", owner_id=OWNER, plan_end=day(-1))
    pms.run("check_task_delay_alerts")
    before = pms.rows("alert_records")
    alert_no = before[0]["alert_no"]
    for user, says in (("999999", "user 999999 is not in the PMS users table"), ("-5", "user -5 is not in the PMS users table"),
                       ("40", "user 40 (离职员工) is inactive"), ("41", "user 41 (未标记) is not marked active")):
        for action in ("acknowledge", "resolve", "close", "ignore"):
            code, message = _alert_cli(capsys, pms, action, alert_no, "--user", user)
            assert code == 1 and says in message, (action, user, message)
    assert pms.rows("alert_records") == before  # nothing written, acknowledged_by/handler_id untouched
    assert _alert_cli(capsys, pms, "acknowledge", alert_no, "--user", str(OWNER)) == (0, f"{alert_no}: ACKNOWLEDGED")


def test_alert_cli_refuses_what_the_lifecycle_does_not_allow_and_writes_nothing(pms, capsys):
    pms.add("tasks", project_id=1, task_name="t", status="TODO", owner_id=OWNER, plan_end=day(-1))
    pms.run("check_task_delay_alerts")
    alert_no = pms.rows("alert_records")[0]["alert_no"]
    assert _alert_cli(capsys, pms, "resolve", alert_no, "--user", str(PM), "--note", "已补料") == (0, f"{alert_no}: RESOLVED")
    assert _alert_cli(capsys, pms, "close", alert_no, "--user", str(OWNER)) == (0, f"{alert_no}: CLOSED")
    closed = pms.rows("alert_records")[0]
    refusals = {
        "resolve": f"alert {alert_no} is CLOSED (a final status); cannot resolve it: resolve is allowed only from "
                   "PENDING, ACKNOWLEDGED, PROCESSING",
        "ignore": f"alert {alert_no} is CLOSED (a final status); cannot ignore it",
        "close": "close is allowed only from PENDING, ACKNOWLEDGED, PROCESSING, RESOLVED",
        "acknowledge": "acknowledge is allowed only from PENDING",
    }
    for action, says in refusals.items():
        code, message = _alert_cli(capsys, pms, action, alert_no, "--user", str(PM))
        assert code == 1 and says in message, message
    after = pms.rows("alert_records")[0]
    assert after == closed  # handle_end_at, handle_result, handler_id and status as they were
    assert (after["status"], after["handler_id"], after["handle_result"], after["handle_note"]) == ("CLOSED", PM, "已处理", "已补料")


def test_escalation_climbs_one_level_per_timeout_over_simulated_hours(pms):
    hours = load_pms_config().escalation_hours  # INFO 24, WARNING 8, CRITICAL 4
    pms.add("task_unified", task_code="T1", title="t", assignee_id=OWNER, status="PENDING", project_id=1,
            deadline=NOW + timedelta(hours=5))
    pms.run("check_task_deadline_reminder")
    ladder = []
    for hour in range(0, 45):
        now = NOW + timedelta(hours=hour, minutes=10)
        escalated = pms.run("check_alert_escalation", now=now)["alerts_escalated"]
        level = pms.rows("alert_records")[0]["alert_level"]
        if escalated:
            ladder.append((hour, level))
    assert ladder == [(24, "WARNING"), (32, "CRITICAL"), (36, "URGENT")]
    assert hours == {"INFO": 24, "WARNING": 8, "CRITICAL": 4}
    alert = pms.rows("alert_records")[0]
    assert alert["is_escalated"] is True and alert["alert_title"].startswith("[已升级]") and alert["escalated_to"] == PM
    history = alert["alert_data"]["escalation_history"]
    assert [(h["from_level"], h["to_level"]) for h in history] == [("INFO", "WARNING"), ("WARNING", "CRITICAL"), ("CRITICAL", "URGENT")]
    # every step told the PM in the in-app inbox, forced (no per-day de-duplication)
    assert len([n for n in pms.notices("ALERT") if n["title"].startswith("预警已升级")]) == 3


def test_escalation_normalises_old_levels_and_skips_closed_alerts(pms):
    old = NOW - timedelta(hours=30)
    for i, (level, status) in enumerate((("MEDIUM", "PENDING"), ("HIGH", "ACKNOWLEDGED"), ("INFO", "RESOLVED"), ("URGENT", "PENDING"))):
        pms.add("alert_records", alert_no=f"OLD{i}", rule_id=1, target_id=i, alert_level=level, status=status,
                triggered_at=old, created_at=old, updated_at=old, alert_data=None)
    assert pms.run("check_alert_escalation")["alerts_escalated"] == 2
    assert [a["alert_level"] for a in pms.rows("alert_records")] == ["CRITICAL", "URGENT", "INFO", "URGENT"]


def test_run_logs_one_json_line_and_an_sla_breach_is_an_alert(pms, caplog):
    cfg = load_pms_config()
    tight = cfg.model_copy(update={"services": [s.model_copy(update={"sla": s.sla.model_copy(
        update={"max_execution_time_seconds": 1e-6})}) if s.id == "check_delivery_delay" else s for s in cfg.services]})
    with caplog.at_level(logging.INFO, logger="yd_platform.pms.jobs"):
        summary = pms.run("check_delivery_delay", config=tight)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "yd_platform.pms.jobs"]
    assert [x["event"] for x in lines] == ["job_run_success"]  # one line per run
    assert {"job_id", "job_name", "event", "duration_ms", "timestamp"} <= set(lines[0]) and lines[0]["duration_ms"] > 0
    assert summary["sla_breached"] is True
    sla = pms.rows("alert_records")
    assert [(a["target_type"], a["target_no"], a["alert_level"]) for a in sla] == [("SCHEDULER_JOB", "check_delivery_delay", "CRITICAL")]
    pms.run("check_delivery_delay", config=tight)
    assert len(pms.rows("alert_records")) == 1  # one open SLA alert per service


def test_a_failing_service_logs_the_failure_and_writes_nothing(pms, caplog):
    pms.add("material_shortages", project_id=1, material_code="M", material_name="m", shortage_qty=1, required_date=day(-1), status="OPEN")
    with pms.engine.begin() as conn:  # a database missing a table the service reads
        conn.execute(sa.text("ALTER TABLE projects RENAME TO projects_moved"))
    with caplog.at_level(logging.INFO, logger="yd_platform.pms.jobs"), pytest.raises(sa.exc.OperationalError):
        pms.run("generate_shortage_alerts")
    events = [json.loads(r.getMessage())["event"] for r in caplog.records if r.name == "yd_platform.pms.jobs"]
    assert events == ["job_run_failed"]
    assert pms.rows("alert_records") == [] and pms.rows("alert_rules") == []  # one transaction: all or nothing
    with pytest.raises(ValueError, match="ISO date-time"):
        pms.run("generate_shortage_alerts", now="yesterday")
