"""The whole set of 37 services once on MariaDB, over demo data: the same SQL runs on the
operators' MySQL as on the embedded SQLite."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.config import load_pms_config
from yd_platform.pms.demo import fill_demo
from yd_platform.pms.runner import run_service

TODAY = date(2026, 3, 10)


@pytest.mark.slow
def test_all_services_on_mariadb(mysql_url, yd_home):
    engine = sa.create_engine(mysql_url)
    assert len(t.create_missing(engine)) == 64
    fill_demo(engine, projects=30, seed=11, today=TODAY)
    cfg = load_pms_config()
    summaries = {}
    for svc in cfg.services:
        hour, minute = (9 if svc.hourly else int(svc.cron.split()[1])), int(svc.cron.split()[0])
        summaries[svc.id] = run_service(svc.id, engine, now=datetime(2026, 3, 10, hour, minute), config=cfg)
    quiet = [s for s, r in summaries.items() if not r["rows_written"] and s not in ("retry_failed_notifications",)]
    assert quiet == [], f"services that found nothing in the demo data: {quiet}"
    with engine.connect() as conn:
        codes = set(conn.execute(sa.select(t.alert_rules.c.rule_code).join(
            t.alert_records, t.alert_records.c.rule_id == t.alert_rules.c.id)).scalars())
        numbers = conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(t.alert_records.c.alert_no)))
                               .select_from(t.alert_records)).one()
    assert {c for s in cfg.services for c in s.rules} <= codes
    assert numbers[0] == numbers[1] > 50
    again = run_service("check_task_delay_alerts", engine, now=datetime(2026, 3, 10, 10, 0), config=cfg)
    assert again["alerts_created"] == 0  # de-duplicated against the open alerts
    engine.dispose()
