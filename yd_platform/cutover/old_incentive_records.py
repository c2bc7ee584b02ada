"""Reading what the old incentive system recorded about its notices and awards.

The old system ran a loop every 3 minutes over the current month's contracts. For each new
contract it queued messages in its SQLite database `tasks.db`, table `tasks`
(`id, task_type, recipient, message, status, created_at, updated_at`), and a sender thread
sent the rows whose status is `pending`, setting `completed` once a message was out (a
send that failed stayed `pending` and was tried again). Per contract:

- `send_wecom_message` to the city's group: the 签约喜报,
  ``恭喜 <管家> 签约合同 <合同编号> 并完成线上收款...``;
- for an awarded contract also `send_wechat_message` to the campaign's contact:
  ``<管家>签约合同<合同编号>`` and one ``达成<奖励名称>奖励条件，...`` line per prize.

Right after queueing them it wrote ``"<合同ID>": "发送成功"`` into the month's status file
`state/send_status_<city>_<month>.json` (`send_status_bj_apr.json`,
`send_status_shanghai_oct.json`, ...), so `发送成功` means "queued, never queue again", not
"sent". Other status files (technician status, service reports, pending orders) are not
about awards. Its award records are the month's performance file
`PerformanceData-<CITY>-<Mon>.csv`: one row per contract with `合同ID(_id)`,
`合同编号(contractdocNum)`, `管家(serviceHousekeeper)`, `奖励类型` and `奖励名称`
(comma-separated, one per prize).
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

COMPLETED, PENDING = "completed", "pending"
STATUS_SENT_WORD = "发送成功"
TASK_COLUMNS = {"id", "task_type", "recipient", "message", "status", "created_at", "updated_at"}
CONTRACT_NO = re.compile(r"签约合同\s*([A-Za-z0-9][A-Za-z0-9_\-]*)")
GROUP_HOUSEKEEPER = re.compile(r"恭喜\s*(.+?)\s*签约合同")
AWARD_HOUSEKEEPER = re.compile(r"^\s*(.+?)\s*签约合同")
PRIZE = re.compile(r"达成\s*(.+?)\s*奖励条件")
BADGE = re.compile(r"^【[^】]*】")
STATUS_FILE = re.compile(r"^send_status_(?P<city>[a-z]+)_(?P<month>[a-z]+)\.json$")
MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], start=1) for name in names}
# the old file names spell two cities out; codes (bj, sh, ...) are the config's city codes
CITY_WORDS = {"beijing": "BJ", "shanghai": "SH"}


class OldRecordsError(ValueError):
    """An old system's file cannot be read at all; the message names it and why."""


def strip_badge(name: str) -> str:
    """The housekeeper without the elite badge the old notices put before the name."""
    return BADGE.sub("", name.strip()).strip()


@dataclass(frozen=True)
class OldMessage:
    """One award-related row of the old `tasks` table."""

    row_id: int
    kind: str  # "group" (the 签约喜报 of a contract) or "award" (the prizes of a contract)
    contract_no: str
    housekeeper: str
    prizes: tuple[str, ...]
    status: str
    updated_at: str
    body: str
    created_at: str = ""

    @property
    def sent(self) -> bool:
        return self.status == COMPLETED


@dataclass
class OldTasks:
    """The award rows of a `tasks` table, and the rows that are about something else."""

    path: Path
    messages: list[OldMessage] = field(default_factory=list)
    other_rows: dict[str, int] = field(default_factory=dict)  # task_type -> rows not about awards


def classify(row_id: int, message: str, status: str, updated_at: str, created_at: str = "") -> OldMessage | None:
    """The award row a message is, or None when it is about something else."""
    number = CONTRACT_NO.search(message or "")
    if number is None:
        return None
    if "签约喜报" in message:
        who = GROUP_HOUSEKEEPER.search(message)
        return OldMessage(row_id, "group", number[1], strip_badge(who[1]) if who else "", (), status, updated_at,
                          message, created_at)
    prizes = tuple(p.strip() for p in PRIZE.findall(message))
    if not prizes:
        return None
    who = AWARD_HOUSEKEEPER.search(message)
    return OldMessage(row_id, "award", number[1], strip_badge(who[1]) if who else "", prizes, status, updated_at,
                      message, created_at)


def read_tasks(path: str | Path) -> OldTasks:
    """The award rows of the old `tasks.db`; refuses a file that is not that database."""
    path = Path(path)
    if not path.is_file():
        raise OldRecordsError(f"{path}: no such file (the old incentive system's tasks.db)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(tasks)")}
            if not columns:
                raise OldRecordsError(f"{path}: has no table 'tasks' (is it the old system's tasks.db?)")
            if not TASK_COLUMNS <= columns:
                raise OldRecordsError(f"{path}: table 'tasks' lacks columns {sorted(TASK_COLUMNS - columns)}")
            rows = conn.execute("SELECT id, task_type, message, status, updated_at, created_at FROM tasks "
                                "ORDER BY id").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise OldRecordsError(f"{path}: not an SQLite database ({exc})") from None
    out = OldTasks(path)
    for row_id, task_type, message, status, updated_at, created_at in rows:
        item = classify(int(row_id), str(message or ""), str(status or "").strip(), str(updated_at or ""),
                        str(created_at or ""))
        if item is None:
            out.other_rows[str(task_type)] = out.other_rows.get(str(task_type), 0) + 1
        else:
            out.messages.append(item)
    return out


def parse_time(text: str, timezone: str) -> float | None:
    """Epoch seconds of an old timestamp (local time, `YYYY-MM-DD HH:MM:SS[.ffffff]`)."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=ZoneInfo(timezone)).timestamp()
    except (ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class StatusFile:
    """One `send_status_<city>_<month>.json`: contract id -> status word."""

    path: Path
    city: str
    month_number: int
    entries: dict[str, str]


def status_file_city(token: str, cities: list[str]) -> str | None:
    code = CITY_WORDS.get(token, token.upper())
    return code if code in cities else None


@dataclass
class StatusFolder:
    """The award status files of an old `state/` folder; `other_files` are about something
    else, `problems` are award status files that cannot be used, each (file, why)."""

    files: list[StatusFile] = field(default_factory=list)
    other_files: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def read_status_dir(folder: str | Path, cities: list[str]) -> StatusFolder:
    folder = Path(folder)
    if not folder.is_dir():
        raise OldRecordsError(f"{folder}: no such folder (the old incentive system's state/ folder)")
    out = StatusFolder()
    for path in sorted(folder.glob("*.json")):
        match = STATUS_FILE.match(path.name)
        if not match:
            out.other_files.append((path.name, "not an award status file (send_status_<city>_<month>.json)"))
            continue
        city = status_file_city(match["city"], cities)
        month = MONTHS.get(match["month"])
        if city is None or month is None:
            what = f"city {match['city']!r}" if city is None else f"month {match['month']!r}"
            out.problems.append((path.name, f"{what} names no configured city or month (cities: {', '.join(cities)})"))
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            out.problems.append((path.name, f"cannot be read as JSON: {exc}"))
            continue
        if not isinstance(data, dict):
            out.problems.append((path.name, "is not a JSON object of contract id -> status"))
            continue
        out.files.append(StatusFile(path, city, month, {str(k): str(v) for k, v in data.items()}))
    return out


@dataclass(frozen=True)
class OldAward:
    """One prize the old system awarded (from its performance file or its award messages)."""

    source: str
    contract_id: str
    contract_no: str
    housekeeper: str
    prize: str
    prize_type: str  # 幸运数字 / 节节高 / "" when the source does not say
    month: str = ""  # YYYY-MM the record was made in, when the source says


def awards_from_performance_csv(path: str | Path) -> Iterator[OldAward]:
    """The prizes of an old `PerformanceData-*.csv` (rows with 奖励名称)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            needed = {"合同ID(_id)", "合同编号(contractdocNum)", "管家(serviceHousekeeper)", "奖励名称"}
            missing = needed - set(reader.fieldnames or [])
            if missing:
                raise OldRecordsError(f"{path}: not an old performance file, columns {sorted(missing)} missing")
            for line, row in enumerate(reader, start=2):
                names = [n.strip() for n in (row.get("奖励名称") or "").split(",") if n.strip()]
                types = [n.strip() for n in (row.get("奖励类型") or "").split(",")]
                for i, name in enumerate(names):
                    yield OldAward(f"{path.name} line {line}", row["合同ID(_id)"].strip(),
                                   row["合同编号(contractdocNum)"].strip(),
                                   strip_badge(row["管家(serviceHousekeeper)"]), name,
                                   types[i] if i < len(types) else "")
    except (OSError, UnicodeDecodeError) as exc:
        raise OldRecordsError(f"{path}: cannot be read ({exc})") from None


def awards_from_tasks(tasks: OldTasks) -> Iterator[OldAward]:
    """The prizes named by the award messages of the old tasks table (sent or not)."""
    for m in tasks.messages:
        if m.kind == "award":
            for prize in m.prizes:
                yield OldAward(f"{tasks.path.name} row {m.row_id}", "", m.contract_no, m.housekeeper, prize, "",
                               m.created_at[:7])


def is_sqlite(path: str | Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
