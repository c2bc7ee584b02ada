"""The service-provider SLA monitor: daily notices of new violations, the weekly report to
providers that had any, and praise for those that had none."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from yd_platform.incentives import ledger
from yd_platform.incentives.config import SlaSettings
from yd_platform.incentives.messages import sla_daily_text, sla_praise_text, sla_weekly_text

DAILY_KINDS = ["sla_daily"]
WEEKLY_KINDS = ["sla_weekly", "sla_praise"]


def by_provider(violations: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for v in sorted(violations, key=lambda v: (v["provider"], v["created_at"], v["violation_id"])):
        grouped[v["provider"]].append(v)
    return dict(grouped)


def record_daily(engine: sa.Engine, day: date, violations: list[dict], cfg: SlaSettings) -> int:
    """Record one pending notice per provider covering its violations not announced before.

    Violations and the notice that announces them are recorded in one transaction, so a
    violation is announced once even when the day is re-pulled with more rows later.
    """
    created = 0
    with engine.begin() as conn:
        known = ledger.already_announced(conn, [v["violation_id"] for v in violations])
        fresh = [v for v in violations if v["violation_id"] not in known]
        for provider, items in by_provider(fresh).items():
            notice_id = f"sla_daily|{day.isoformat()}|{provider}|{items[0]['violation_id']}"
            created += ledger.record_pending(conn, [ledger.Notice(
                notice_id=notice_id, kind="sla_daily", partition_key=day.isoformat(),
                channel=cfg.provider_url_env(provider), msgtype="text",
                body=sla_daily_text(provider, day, items, cfg.appeal_contact))])
            ledger.insert_ignore(conn, ledger.announced_violations, [
                {"violation_id": v["violation_id"], "notice_id": notice_id, "day": day.isoformat()}
                for v in items])
    return created


def weekly_notices(week_start: date, violations: list[dict], cfg: SlaSettings) -> list[ledger.Notice]:
    """A report for each provider with violations in the week, praise for each without."""
    key = week_start.isoformat()
    grouped = by_provider(violations)
    out = [ledger.Notice(notice_id=f"sla_weekly|{key}|{p}", kind="sla_weekly", partition_key=key,
                         channel=cfg.provider_url_env(p), msgtype="text",
                         body=sla_weekly_text(p, week_start, items, cfg.appeal_contact))
           for p, items in grouped.items()]
    out += [ledger.Notice(notice_id=f"sla_praise|{key}|{p}", kind="sla_praise", partition_key=key,
                          channel=cfg.provider_url_env(p), msgtype="text", body=sla_praise_text(p))
            for p in sorted(cfg.providers) if p not in grouped]
    return out
