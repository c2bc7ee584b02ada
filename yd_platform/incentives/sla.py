"""The service-provider SLA monitor: daily notices of new violations, the weekly report to
providers that had any, and praise for those that had none.

The robot cuts a text message at 2048 bytes, which a busy provider's list of violations
easily exceeds; such a list is sent as several numbered messages ("（1/2）") so no
violation is announced as sent while its text was cut off.

Notice keys: a day's notice `sla_daily|<day>|<provider>|<first violation id of the part>`,
a week's report `sla_weekly|<week start>|<provider>[|<part from 2 on>]`, praise
`sla_praise|<week start>|<provider>`. Which violations a daily notice announced is kept
beside it (`incentive_sla_announced`), so a re-pulled day announces only new ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from yd_platform.incentives.config import SlaSettings
from yd_platform.incentives.messages import sla_daily_text, sla_praise_text, sla_weekly_text
from yd_platform.incentives.notices import notice
from yd_platform.outbox.enqueue import Message, enqueue, stored_key
from yd_platform.outbox.tables import ensure_tables as ensure_outbox
from yd_platform.outbox.wecom import TEXT_LIMIT_BYTES
from yd_platform.resources.app_db import KEY_LENGTH, insert_ignore

DAILY_KINDS = ["sla_daily"]
WEEKLY_KINDS = ["sla_weekly", "sla_praise"]
WIDEST_PART = "（99/99）"

metadata = sa.MetaData()

announced_violations = sa.Table(
    "incentive_sla_announced", metadata,
    sa.Column("violation_id", sa.String(255), primary_key=True),
    sa.Column("notice_id", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
)


def ensure_tables(engine: sa.Engine) -> None:
    ensure_outbox(engine)
    metadata.create_all(engine, checkfirst=True)


def already_announced(conn: sa.Connection, violation_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(violation_ids), 500):
        chunk = violation_ids[start:start + 500]
        found.update(conn.execute(sa.select(announced_violations.c.violation_id)
                                  .where(announced_violations.c.violation_id.in_(chunk))).scalars())
    return found


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


def record_daily(engine: sa.Engine, day: date, violations: list[dict], cfg: SlaSettings, now: float) -> int:
    """Queue notices per provider covering its violations not announced before.

    Violations and the notice that announces them are recorded in one transaction, so a
    violation is announced once even when the day is re-pulled with more rows later.
    """
    ensure_tables(engine)
    created = 0
    with engine.begin() as conn:
        known = already_announced(conn, [v["violation_id"] for v in violations])
        fresh = [v for v in violations if v["violation_id"] not in known]
        for provider, items in by_provider(fresh).items():
            def render(chunk: list[dict], part: str, provider: str = provider) -> str:
                return sla_daily_text(provider, day, chunk, cfg.appeal_contact, part)

            for chunk, part in fit_parts(items, render):
                key = f"sla_daily|{day.isoformat()}|{provider}|{chunk[0]['violation_id']}"
                created += enqueue(conn, notice(key, "sla_daily", day.isoformat(), cfg.provider_url_env(provider),
                                                render(chunk, part)), now)
                insert_ignore(conn, announced_violations, [
                    {"violation_id": v["violation_id"], "notice_id": stored_key(key), "day": day.isoformat()}
                    for v in chunk])
    return created


def weekly_notices(week_start: date, violations: list[dict], cfg: SlaSettings) -> list[Message]:
    """A report for each provider with violations in the week, praise for each without."""
    key = week_start.isoformat()
    out = []
    for p, items in by_provider(violations).items():
        def render(chunk: list[dict], part: str, p: str = p) -> str:
            return sla_weekly_text(p, week_start, chunk, cfg.appeal_contact, part)

        for i, (chunk, part) in enumerate(fit_parts(items, render), start=1):
            out.append(notice(f"sla_weekly|{key}|{p}" + (f"|{i}" if i > 1 else ""), "sla_weekly", key,
                              cfg.provider_url_env(p), render(chunk, part)))
    grouped = {v["provider"] for v in violations}
    out += [notice(f"sla_praise|{key}|{p}", "sla_praise", key, cfg.provider_url_env(p), sla_praise_text(p))
            for p in sorted(cfg.providers) if p not in grouped]
    return out
