"""The technician status check: a housekeeper going online or offline is told, once, to the
housekeeper's company (its provider robot) and to the operations robot, worded as before:
"您好，公司的管家：张三，在2025-05-06 09:30 🟢 上线 了。".

Notice keys: `technician_status|<change id>|company` and `technician_status|<change id>|ops`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from yd_platform.incentives.columns import SourceRowError, pick
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.notices import notice
from yd_platform.outbox.enqueue import Message

KIND = "technician_status"
ICONS = {"上线": "🟢", "下线": "🔴"}

STATUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "change_id": ("_id", "id", "change_id"),
    "changed_at": ("updateTime", "createTime", "changed_at"),
    "technician": ("name", "realName", "technician"),
    "company": ("orgName", "companyName", "company"),
    "content": ("updateContent", "content"),
}
# the card's column order, for rows that come as lists (the old export)
POSITIONS = {"change_id": 0, "changed_at": 1, "technician": 2, "company": 3, "content": 5}


@dataclass(frozen=True)
class StatusChange:
    change_id: str
    changed_at: str
    technician: str
    company: str
    content: str


def _content(value: object) -> str:
    """The card gives the change as text or as a one-element list (["上线"])."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return str(value)


def changes_from_rows(rows: list, where: str) -> list[StatusChange]:
    out = []
    for i, row in enumerate(rows):
        at = f"{where}, row {i + 1}"
        if isinstance(row, (list, tuple)):
            if len(row) <= max(POSITIONS.values()):
                raise SourceRowError(f"{at}: expected at least {max(POSITIONS.values()) + 1} columns, got {len(row)}")
            values = {f: row[p] for f, p in POSITIONS.items()}
        else:
            values = {f: pick(row, f, names, at) for f, names in STATUS_COLUMNS.items()}
        out.append(StatusChange(change_id=str(values["change_id"]), changed_at=str(values["changed_at"]),
                                technician=str(values["technician"]), company=str(values["company"]),
                                content=_content(values["content"])))
    return out


def short_time(text: str) -> str:
    """"2025-05-06T09:30:12.345+08:00" -> "2025-05-06 09:30" (the old notices' minute precision)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def status_text(change: StatusChange) -> str:
    icon = next((i for word, i in ICONS.items() if change.content.startswith(word)), "")
    return f"您好，公司的管家：{change.technician}，在{short_time(change.changed_at)} {icon} {change.content} 了。"


def status_notices(changes: list[StatusChange], cfg: IncentivesConfig) -> list[Message]:
    """Two notices per change: the company's robot, then the operations robot."""
    out = []
    for change in changes:
        text = status_text(change)
        day = change.changed_at[:10]
        out.append(notice(f"{KIND}|{change.change_id}|company", KIND, day,
                          cfg.sla.provider_url_env(change.company), text))
        out.append(notice(f"{KIND}|{change.change_id}|ops", KIND, day, cfg.technician_status.url_env, text))
    return out


def demo_changes(day: date, providers: list[str], technicians: list[str]) -> list[StatusChange]:
    """A few deterministic online/offline changes of the day, for the embedded default."""
    seed = int(hashlib.sha256(f"technicians|{day.isoformat()}".encode()).hexdigest()[:16], 16)
    rng = random.Random(seed)
    out = []
    for n in range(3):
        at = datetime.combine(day, datetime.min.time()) + timedelta(hours=8 + 4 * n, minutes=rng.randrange(60))
        out.append(StatusChange(
            change_id=f"TS{day:%Y%m%d}{n:02d}", changed_at=at.isoformat(timespec="seconds") + "+08:00",
            technician=technicians[rng.randrange(len(technicians))], company=providers[rng.randrange(len(providers))],
            content="上线" if n % 2 == 0 else "下线"))
    return out
