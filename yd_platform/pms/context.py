"""What a service function gets: the PMS connection, "now" in Asia/Shanghai, and the
helpers every service shares (alert rules, alerts with de-duplication and unique numbers,
in-app notices with one-per-day de-duplication, counters for the run summary, and reading
rows whose values may be missing: `read`, `row` and `skipped`, see `rows.py`).

Times in the PMS database are naive local (Asia/Shanghai) datetimes, as the old system
wrote them; `now` and `today` are therefore computed in Asia/Shanghai, never the server's zone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.config import PmsConfig, Service
from yd_platform.pms.rows import MISSING, Needs, SkippedRows, WriteCounter, guard_row, name_missing, read_rows

OPEN_STATUSES = ("PENDING", "ACKNOWLEDGED", "PROCESSING")
# rules every service may raise besides its own: a run that took longer than its SLA
SLA_RULE = "SCHEDULER_SLA"
COMMON_RULES = {SLA_RULE: ("CUSTOM", "SCHEDULER_JOB")}
# HIGH/MEDIUM/WARN written by the old issue and escalation code, normalised onto the enum.
LEVEL_ALIASES = {"WARN": "WARNING", "MEDIUM": "WARNING", "LOW": "INFO", "HIGH": "CRITICAL"}


def normalise_level(level: str) -> str:
    level = (level or "INFO").upper()
    return LEVEL_ALIASES.get(level, level)


def lateness_level(days_late: int) -> str:
    """Late tasks and overdue issues: a week late is the worst case (URGENT), three days
    CRITICAL, less WARNING (the old task code ranked 3-6 days above 7+, the issue code used
    MEDIUM/HIGH/CRITICAL outside the enum)."""
    if days_late >= 7:
        return "URGENT"
    return "CRITICAL" if days_late >= 3 else "WARNING"


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))


@dataclass
class ServiceContext:
    conn: sa.Connection
    now: datetime
    config: PmsConfig
    service: Service
    partition: str | None = None
    outbox: Any = None  # delivery.OutboxLink when messages can be handed to the outbox
    alerts_created: int = 0
    alerts_escalated: int = 0
    rows_written: Counter = field(default_factory=Counter)
    notify_alert_ids: list[int] = field(default_factory=list)
    _rules: dict[str, dict] = field(default_factory=dict)
    _numbers: dict[str, int] = field(default_factory=dict)
    _open: dict[tuple, set] = field(default_factory=dict)
    _noticed: set | None = None
    _cache: dict = field(default_factory=dict)
    _pending_notices: list = field(default_factory=list)
    skipped: SkippedRows = field(default_factory=SkippedRows)
    _writes: WriteCounter | None = None

    def flush(self) -> None:
        """Write the notices gathered during the run in one statement."""
        if self._pending_notices:
            self.conn.execute(sa.insert(t.notifications), self._pending_notices)
            self._pending_notices = []

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def report_day(self) -> date:
        """The day a report or snapshot is for: the partition's day, else yesterday for the
        `daily` services and today for the `today` ones."""
        if self.partition:
            return date.fromisoformat(self.partition[:10])
        return self.today - timedelta(days=1) if self.service.partition == "daily" else self.today

    def wrote(self, table: str, count: int = 1) -> None:
        if count:
            self.rows_written[table] += count

    # ---- rows whose values may be missing ----------------------------------------------------
    def read(self, query: sa.Select, need: Needs = ()) -> list[dict]:
        """The rows of `query` whose `need` columns (column -> condition, or just columns) are
        set and meet their conditions; the rows of its scope left out for a NULL are named in
        `skipped` (table, id, column)."""
        return read_rows(self.conn, self.skipped, query, need)

    def name_missing(self, query: sa.Select, need: Needs) -> None:
        """Only name the rows of `query`'s scope that a NULL in `need` leaves out (for reads
        the service aggregates in SQL)."""
        name_missing(self.conn, self.skipped, query, need)

    def skip(self, table: str, row_id, column: str | None, reason: str = MISSING) -> None:
        """Name a row the service leaves out for a reason it checks itself."""
        self.skipped.add(table, row_id, column, reason)

    def row(self, table: str, row, *, row_id=None):
        """Context for one row's work: an exception inside becomes a named skip (the notices
        the row gathered are dropped), or stops the run naming the row if it already wrote."""
        if self._writes is None:
            self._writes = WriteCounter(self.conn)
        mark = len(self._pending_notices)
        return guard_row(self.skipped, self._writes, table, row, row_id=row_id, undo=lambda: self._drop_notices(mark))

    def _drop_notices(self, mark: int) -> None:
        dropped, self._pending_notices = self._pending_notices[mark:], self._pending_notices[:mark]
        for n in dropped:
            if self._noticed is not None:
                self._noticed.discard((n["user_id"], n["source_type"], n["source_id"], n["notification_type"]))
            self.rows_written["notifications"] -= 1
        if not self.rows_written["notifications"]:
            del self.rows_written["notifications"]

    # ---- rules -------------------------------------------------------------------------------
    def rule(self, code: str) -> dict:
        """The rule row for `code`, created (enabled, system) from the service's config when missing."""
        if code in self._rules:
            return self._rules[code]
        row = self.conn.execute(sa.select(t.alert_rules).where(t.alert_rules.c.rule_code == code)).mappings().first()
        if row is None:
            rule_type, target_type = self.service.rules.get(code) or COMMON_RULES.get(code, ("CUSTOM", "SYSTEM"))
            self.conn.execute(sa.insert(t.alert_rules).values(
                rule_code=code, rule_name=f"{self.service.name}:{code}", rule_type=rule_type, target_type=target_type,
                condition_type="THRESHOLD", is_enabled=True, is_system=True,
                notify_channels=list(self.config.alert_channels), notify_users=[], notify_roles=["PROJECT_MANAGER"],
                description=f"created by {self.service.id}"))
            self.wrote("alert_rules")
            row = self.conn.execute(sa.select(t.alert_rules).where(t.alert_rules.c.rule_code == code)).mappings().one()
        self._rules[code] = dict(row)
        return self._rules[code]

    # ---- alert numbers -------------------------------------------------------------------------
    def alert_no(self, prefix: str) -> str:
        """`<PREFIX><yyyymmdd><seq>`: the sequence continues from the highest number of the day in
        the database, so a second run of the same day never collides with the first."""
        stem = f"{prefix}{self.today:%Y%m%d}"
        if stem not in self._numbers:
            col = t.alert_records.c.alert_no
            latest = self.conn.execute(sa.select(col).where(col.like(f"{stem}%")).order_by(
                sa.func.length(col).desc(), col.desc()).limit(1)).scalar()
            tail = latest[len(stem):] if latest else "0"
            self._numbers[stem] = int(tail) if tail.isdigit() else 0
        self._numbers[stem] += 1
        return f"{stem}{self._numbers[stem]:04d}"

    # ---- de-duplication ------------------------------------------------------------------------
    def _blocked(self, rule_id: int, target_type: str, mode: str) -> set:
        if mode == "none":
            return set()
        key = (rule_id, target_type, mode)
        if key not in self._open:
            a = t.alert_records.c
            where = (a.rule_id == rule_id) & (a.target_type == target_type)
            if mode == "open":
                where &= a.status == "PENDING"
            elif mode == "today":
                start = datetime.combine(self.today, datetime.min.time())
                where &= (a.status == "PENDING") & (a.triggered_at >= start) & (a.triggered_at < start + timedelta(days=1))
            elif mode == "24h":
                where &= a.triggered_at > self.now - timedelta(hours=24)
            else:
                raise ValueError(f"unknown de-duplication mode {mode!r}")
            self._open[key] = set(self.conn.execute(sa.select(a.target_id).where(where)).scalars())
        return self._open[key]

    # ---- alerts ----------------------------------------------------------------------------------
    def raise_alert(self, rule_code: str, *, target_id: int, level: str, title: str, content: str, prefix: str,
                    target_no: str | None = None, target_name: str | None = None, project_id: int | None = None,
                    trigger_value: Any = None, threshold_value: Any = None, data: dict | None = None,
                    dedupe: str = "open", recipients: list[int] | None = None, notify_now: bool = False) -> int | None:
        """Insert a PENDING alert unless one blocks it (`dedupe`: open = a PENDING alert of this rule
        on the target; today = such an alert triggered today; 24h = any alert of the last 24 h).
        Returns the new alert id, or None when de-duplicated."""
        rule = self.rule(rule_code)
        target_type = (self.service.rules.get(rule_code) or COMMON_RULES.get(rule_code) or (None, rule["target_type"]))[1]
        blocked = self._blocked(rule["id"], target_type, dedupe)
        if target_id in blocked:
            return None
        level = normalise_level(level)
        payload = dict(data or {})
        if recipients:
            payload["recipients"] = sorted({int(r) for r in recipients if r})
        result = self.conn.execute(sa.insert(t.alert_records), dict(
            alert_no=self.alert_no(prefix), rule_id=rule["id"], target_type=target_type, target_id=target_id,
            target_no=None if target_no is None else str(target_no)[:100], target_name=(target_name or "")[:200],
            project_id=project_id, alert_level=level, severity=level, alert_title=title[:200], alert_content=content,
            alert_data=json.loads(json.dumps(payload, default=str)), triggered_at=self.now,
            trigger_value=None if trigger_value is None else str(trigger_value),
            threshold_value=None if threshold_value is None else str(threshold_value),
            status="PENDING", is_escalated=False, created_at=self.now, updated_at=self.now))
        alert_id = result.inserted_primary_key[0]
        blocked.add(target_id)
        self.alerts_created += 1
        self.wrote("alert_records")
        if notify_now:
            self.notify_alert_ids.append(alert_id)
        return alert_id

    # ---- in-app notices ----------------------------------------------------------------------------
    def notice(self, user_id: int | None, notification_type: str, title: str, content: str = "", *,
               source_type: str, source_id: int, priority: str = "NORMAL", link: str | None = None,
               extra: dict | None = None) -> bool:
        """One in-app notification per (user, source, type, calendar day); True when written."""
        if not user_id:
            return False
        if self._noticed is None:
            n = t.notifications.c
            start = datetime.combine(self.today, datetime.min.time())
            rows = self.conn.execute(sa.select(n.user_id, n.source_type, n.source_id, n.notification_type).where(
                (n.created_at >= start) & (n.created_at < start + timedelta(days=1))))
            self._noticed = {tuple(r) for r in rows}
        key = (int(user_id), source_type, int(source_id), notification_type)
        if key in self._noticed:
            return False
        self._pending_notices.append(dict(
            user_id=int(user_id), notification_type=notification_type, source_type=source_type,
            source_id=int(source_id), title=title[:200], content=content, link_url=link, priority=priority,
            extra_data=json.loads(json.dumps(extra or {}, default=str)), is_read=False, created_at=self.now))
        self._noticed.add(key)
        self.wrote("notifications")
        return True

    # ---- lookups shared by many services ---------------------------------------------------------
    @property
    def projects(self) -> dict[int, dict]:
        """id -> project row (cached for the run)."""
        if "projects" not in self._cache:
            self._cache["projects"] = {r["id"]: dict(r) for r in self.conn.execute(sa.select(t.projects)).mappings()}
        return self._cache["projects"]

    def pm_of(self, project_id: int | None) -> int | None:
        return (self.projects.get(project_id) or {}).get("pm_id")

    def project_name(self, project_id: int | None) -> str:
        return (self.projects.get(project_id) or {}).get("project_name") or ""

    @property
    def contract_owners(self) -> dict[int, int]:
        """contract id -> sales_owner_id (the contract owner; the old code read a missing owner_id)."""
        if "contracts" not in self._cache:
            c = t.contracts.c
            self._cache["contracts"] = dict(self.conn.execute(sa.select(c.id, c.sales_owner_id)).all())
        return self._cache["contracts"]

    def role_users(self, *role_codes: str) -> list[int]:
        """Active users holding any of the roles (by role_code or role_name)."""
        u, r, ur = t.users.c, t.roles.c, t.user_roles.c
        return list(self.conn.execute(
            sa.select(u.id).distinct().select_from(t.users.join(t.user_roles, ur.user_id == u.id)
                                                   .join(t.roles, r.id == ur.role_id))
            .where(u.is_active.is_(True) & (r.role_code.in_(role_codes) | r.role_name.in_(role_codes)))
            .order_by(u.id)).scalars())
