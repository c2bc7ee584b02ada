"""The daily service report: each provider's group gets yesterday's violations as one
report (in numbered parts when too long for one message), and every configured provider
without violations gets the old praise, "昨日无超时工单，请继续保持。👍".

Notice keys: `service_report|<day>|<provider>|<part>` for a report, `service_report|<day>|<provider>|praise`.
"""

from __future__ import annotations

from datetime import date

from yd_platform.incentives.config import SlaSettings
from yd_platform.incentives.messages import SERVICE_REPORT_PRAISE, service_report_text
from yd_platform.incentives.notices import notice
from yd_platform.incentives.sla import by_provider, fit_parts
from yd_platform.outbox.enqueue import Message

KIND = "service_report"


def report_notices(day: date, violations: list[dict], cfg: SlaSettings) -> list[tuple[str, Message]]:
    """(provider, notice) pairs: reports first, then praise."""
    key = day.isoformat()
    out = []
    grouped = by_provider(violations)
    for provider, items in grouped.items():
        def render(chunk: list[dict], part: str) -> str:
            return service_report_text(chunk, cfg.appeal_contact, part)

        for i, (chunk, part) in enumerate(fit_parts(items, render), start=1):
            out.append((provider, notice(f"{KIND}|{key}|{provider}|{i}", KIND, key,
                                         cfg.provider_url_env(provider), render(chunk, part))))
    out += [(p, notice(f"{KIND}|{key}|{p}|praise", KIND, key, cfg.provider_url_env(p), SERVICE_REPORT_PRAISE))
            for p in sorted(cfg.providers) if p not in grouped]
    return out
