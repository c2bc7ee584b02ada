"""The service-provider SLA monitor: daily notices of new violations, the weekly report to
providers that had any, and praise for those that had none.

The robot cuts a text message at 2048 bytes, which a busy provider's list of violations
easily exceeds; such a list is sent as several numbered messages ("（1/2）") so no
violation is announced as sent while its text was cut off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from yd_platform.incentives import ledger
from yd_platform.incentives.config import SlaSettings
from yd_platform.incentives.messages import sla_daily_text, sla_praise_text, sla_weekly_text
from yd_platform.notify.wecom import TEXT_LIMIT_BYTES
from yd_platform.resources.app_db import fit_key, insert_ignore

DAILY_KINDS = ["sla_daily"]
WEEKLY_KINDS = ["sla_weekly", "sla_praise"]
WIDEST_PART = "（99/99）"


def by_provider(violations: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for v in sorted(violations, key=lambda v: (v["provider"], v["created_at"], v["violation_id"])):
        grouped[v["provider"]].append(v)
    return dict(grouped)


def fit_parts(items: list[dict], render: Callable[[list[dict], str], str],
              limit: int = TEXT_LIMIT_BYTES) -> list[tuple[list[dict], str]]:
    """Consecutive groups of `items` whose text fits one message, each with its part
    marker ("" when one message is enough). A single item too long on its own still gets
    its own message (the robot then cuts it)."""
    groups: list[list[dict]] = []
    for item in items:
        if groups and len(render(groups[-1] + [item], WIDEST_PART).encode("utf-8")) <= limit:
            groups[-1].append(item)
        else:
            groups.append([item])
    if len(groups) == 1:
        return [(groups[0], "")]
    return [(g, f"（{i}/{len(groups)}）") for i, g in enumerate(groups, start=1)]


def record_daily(engine: sa.Engine, day: date, violations: list[dict], cfg: SlaSettings) -> int:
    """Record pending notices per provider covering its violations not announced before.

    Violations and the notice that announces them are recorded in one transaction, so a
    violation is announced once even when the day is re-pulled with more rows later.
    """
    created = 0
    with engine.begin() as conn:
        known = ledger.already_announced(conn, [v["violation_id"] for v in violations])
        fresh = [v for v in violations if v["violation_id"] not in known]
        for provider, items in by_provider(fresh).items():
            def render(chunk: list[dict], part: str, provider: str = provider) -> str:
                return sla_daily_text(provider, day, chunk, cfg.appeal_contact, part)

            for chunk, part in fit_parts(items, render):
                notice_id = f"sla_daily|{day.isoformat()}|{provider}|{chunk[0]['violation_id']}"
                created += ledger.record_pending(conn, [ledger.Notice(
                    notice_id=notice_id, kind="sla_daily", partition_key=day.isoformat(),
                    channel=cfg.provider_url_env(provider), msgtype="text", body=render(chunk, part))])
                insert_ignore(conn, ledger.announced_violations, [
                    {"violation_id": v["violation_id"], "notice_id": fit_key(notice_id), "day": day.isoformat()}
                    for v in chunk])
    return created


def weekly_notices(week_start: date, violations: list[dict], cfg: SlaSettings) -> list[ledger.Notice]:
    """A report for each provider with violations in the week, praise for each without."""
    key = week_start.isoformat()
    out = []
    for p, items in by_provider(violations).items():
        def render(chunk: list[dict], part: str, p: str = p) -> str:
            return sla_weekly_text(p, week_start, chunk, cfg.appeal_contact, part)

        for i, (chunk, part) in enumerate(fit_parts(items, render), start=1):
            out.append(ledger.Notice(notice_id=f"sla_weekly|{key}|{p}" + (f"|{i}" if i > 1 else ""),
                                     kind="sla_weekly", partition_key=key, channel=cfg.provider_url_env(p),
                                     msgtype="text", body=render(chunk, part)))
    grouped = {v["provider"] for v in violations}
    out += [ledger.Notice(notice_id=f"sla_praise|{key}|{p}", kind="sla_praise", partition_key=key,
                          channel=cfg.provider_url_env(p), msgtype="text", body=sla_praise_text(p))
            for p in sorted(cfg.providers) if p not in grouped]
    return out
