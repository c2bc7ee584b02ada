"""A scratch PMS database (SQLite) with a few users, a project and a contract, and helpers
to add rows, run a service as of a time, and read what it wrote (fixtures `pms_template`
and `pms` in the root conftest)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.runner import run_service

NOW = datetime(2026, 3, 10, 9, 0)
TODAY = NOW.date()
PM, OWNER, SALES, FINANCE, EQUIP = 2, 3, 4, 5, 6


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


class Pms:
    """One PMS database, as the tests fill it and read what the services wrote."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def add(self, table: str, **values) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.insert(t.TABLES[table]).values(**values)).inserted_primary_key[0]

    def run(self, service: str, now: datetime = NOW, **kwargs) -> dict:
        return run_service(service, self.engine, now=now, **kwargs)

    def rows(self, table: str, where=None) -> list[dict]:
        query = sa.select(t.TABLES[table])
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(t.TABLES[table].c.id)).mappings()]

    def alerts(self, rule_code: str | None = None) -> dict[int, str]:
        """target_id -> level of the alerts (of one rule)."""
        a, r = t.alert_records.c, t.alert_rules.c
        query = sa.select(a.target_id, a.alert_level).join(t.alert_rules, r.id == a.rule_id)
        if rule_code:
            query = query.where(r.rule_code == rule_code)
        with self.engine.connect() as conn:
            return dict(conn.execute(query.order_by(a.id)).all())

    def notices(self, kind: str) -> list[dict]:
        return self.rows("notifications", t.notifications.c.notification_type == kind)


def base_rows(db: Pms) -> None:
    for uid, name in [(1, "system"), (PM, "pm"), (OWNER, "owner"), (SALES, "sales"), (FINANCE, "finance"), (EQUIP, "equip")]:
        db.add("users", id=uid, username=name, real_name=name, email=f"{name}@example.com", phone=f"1380000000{uid}",
               department_id=1, department="项目管理部", is_active=True)
    db.add("departments", id=1, dept_name="项目管理部", is_active=True)
    for rid, code, user in [(1, "FINANCE", FINANCE), (2, "EQUIPMENT_MANAGER", EQUIP)]:
        db.add("roles", id=rid, role_code=code, role_name=code, is_active=True)
        db.add("user_roles", user_id=user, role_id=rid)
    db.add("customers", id=1, customer_name="客户甲")
    db.add("contracts", id=1, contract_code="HT1", customer_id=1, project_id=1, status="SIGNED", sales_owner_id=SALES)
    db.add("projects", id=1, project_code="PJ1", project_name="项目一", stage="S3", status="ST05", health="H1",
           progress_pct=50, planned_start_date=day(-50), planned_end_date=day(50), budget_amount=100,
           actual_cost=0, pm_id=PM, contract_id=1, is_active=True, is_archived=False)


def fast_sqlite(path) -> sa.Engine:
    """A test database that skips fsync (the rows matter here, not crash safety)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA synchronous=OFF"))
    return engine
