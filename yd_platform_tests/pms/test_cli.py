"""`yd-platform pms`: init-db, demo-data, list and run with their JSON answers."""

from __future__ import annotations

import json

import sqlalchemy as sa

from yd_platform.cli.main import main
from yd_platform.pms import schema as t


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_demo_list_and_run(tmp_path, yd_home, capsys):
    url = f"sqlite:///{tmp_path / 'pms.db'}"
    assert cli(capsys, "pms", "init-db", "--db", url)[1].startswith("created 64 of 64 tables")
    assert "(all present)" in cli(capsys, "pms", "init-db", "--db", url)[1]
    code, out, _ = cli(capsys, "pms", "demo-data", "--db", url, "--seed", "3", "--projects", "30", "--today", "2026-03-10")
    assert code == 0 and "(30 projects)" in out
    code, _, err = cli(capsys, "pms", "demo-data", "--db", url)
    assert code == 1 and "--replace" in err

    listing = json.loads(cli(capsys, "pms", "list", "--json")[1])
    assert listing["total"] == 37
    by_id = {s["id"]: s for s in listing["services"]}
    assert by_id["check_blocking_issues"]["cron"] == {"minute": "5", "hour": "*", "day": "*", "month": "*", "day_of_week": "*"}
    assert by_id["generate_shortage_alerts"]["risk_level"] == "CRITICAL"
    assert by_id["generate_shortage_alerts"]["sla"] == {"max_execution_time_seconds": 1200, "retry_on_failure": True}
    assert "material_shortages" in by_id["generate_shortage_alerts"]["dependencies_tables"]
    assert by_id["run_ecn_scheduler"]["config_id"] == "check_ecn_overdue"

    code, out, _ = cli(capsys, "pms", "run", "check_task_delay_alerts", "--db", url, "--now", "2026-03-10T09:00+08:00", "--json")
    summary = json.loads(out)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(t.alert_records).where(
            t.alert_records.c.alert_no.like("TD%"))).scalar()
    assert code == 0 and summary["alerts_created"] == stored > 0
    assert summary["rows_written"]["alert_records"] == stored and summary["now"] == "2026-03-10T09:00:00"
    assert summary["alerts_escalated"] == 0 and summary["sla_breached"] is False

    # an offset is converted to Asia/Shanghai; a day later the WARNING and CRITICAL alerts have waited long enough
    code, out, _ = cli(capsys, "pms", "run", "check_alert_escalation", "--db", url, "--now", "2026-03-10T03:00Z", "--json")
    assert json.loads(out)["now"] == "2026-03-10T11:00:00"
    code, out, _ = cli(capsys, "pms", "run", "check_alert_escalation", "--db", url, "--now", "2026-03-11T09:10", "--json")
    assert json.loads(out)["alerts_escalated"] > 0

    code, _, err = cli(capsys, "pms", "run", "no_such_service", "--db", url)
    assert code == 2 and "unknown PMS service 'no_such_service'" in err
    code, _, err = cli(capsys, "pms", "run", "check_task_delay_alerts", "--db", url, "--now", "tomorrow")
    assert code == 1 and "ISO date-time" in err

    with engine.connect() as conn:
        alert_no = conn.execute(sa.select(t.alert_records.c.alert_no).where(t.alert_records.c.status == "PENDING")).scalars().first()
    assert cli(capsys, "pms", "alert", "acknowledge", alert_no, "--user", "2", "--db", url)[1].strip() == f"{alert_no}: ACKNOWLEDGED"
    code, _, err = cli(capsys, "pms", "alert", "acknowledge", alert_no, "--user", "2", "--db", url)
    assert code == 1 and f"alert {alert_no} is ACKNOWLEDGED; cannot acknowledge it" in err
