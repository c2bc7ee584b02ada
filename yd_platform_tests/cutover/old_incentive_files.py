"""Files as the old incentive system left them: its `tasks.db` (table `tasks`), its
`state/send_status_<city>_<month>.json` files and a `PerformanceData-*.csv`, written from
awards the way the old loop wrote them (a 签约喜报 to the group and an award message to the
campaign's contact per contract, the status entry when they were queued)."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from yd_platform.incentives.rules import Award

SCHEMA = """CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_type TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
)"""
BADGE = "【🎖精英管家】"


def group_notice(housekeeper: str, contract_no: str, badge: bool = False) -> str:
    return (f"🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 {BADGE if badge else ''}{housekeeper} 签约合同 {contract_no} 并完成线上收款🎉🎉🎉\n\n"
            "🌻 本单为活动期间平台累计签约第 8 单，个人累计签约第 3 单。\n\n👊 继续加油。\n")


def award_message(housekeeper: str, contract_no: str, prizes: list[tuple[str, float]], elite: bool = False) -> str:
    if elite:
        lines = [f"达成 {name} 奖励条件，奖励金额 {int(yuan)} 元，同时触发\"精英连击双倍奖励\"，奖励金额🚀直升至 "
                 f"{int(yuan) * 2} 元！🧧🧧🧧" for name, yuan in prizes]
        housekeeper = f"{BADGE}{housekeeper}"
    else:
        lines = [f"达成{name}奖励条件，获得签约奖励{int(yuan)}元 🧧🧧🧧" for name, yuan in prizes]
    return f"{housekeeper}签约合同{contract_no}\n\n" + "\n".join(lines)


class OldTasksDb:
    """The old `tasks.db`; `add` appends a row as the old loop and sender left it."""

    def __init__(self, path: Path):
        self.path = path
        with sqlite3.connect(path) as conn:
            conn.execute(SCHEMA)

    def add(self, task_type: str, recipient: str, message: str, status: str,
            at: str = "2025-06-12 10:03:21") -> int:
        updated = f"{at}.482113" if status == "completed" else at  # the sender stored datetime.now()
        with sqlite3.connect(self.path) as conn:
            return conn.execute(
                "INSERT INTO tasks (task_type, recipient, message, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (task_type, recipient, message, status, at, updated)).lastrowid

    def group(self, award: Award, status: str, badge: bool = False) -> int:
        return self.add("send_wecom_message", "（北京）修链服务运营", group_notice(award.housekeeper, award.contract_no, badge),
                        status)

    def prizes(self, awards: list[Award], status: str, elite: bool = False, extra: list[str] = ()) -> int:
        first = awards[0]
        prizes = [(a.reward_name, a.base_reward) for a in awards] + [(name, 600) for name in extra]
        return self.add("send_wechat_message", "王爽", award_message(first.housekeeper, first.contract_no, prizes, elite),
                        status)


def write_status(folder: Path, name: str, entries: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(entries, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


PERFORMANCE_COLUMNS = ["活动编号", "合同ID(_id)", "活动城市(province)", "管家(serviceHousekeeper)", "合同编号(contractdocNum)",
                       "合同金额(adjustRefundMoney)", "服务商(orgName)", "活动期内第几个合同", "激活奖励状态", "奖励类型",
                       "奖励名称", "是否发送通知", "备注"]


def write_performance_csv(path: Path, rows: list[dict]) -> Path:
    """An old PerformanceData CSV: rows of contract_id, contract_no, housekeeper, prizes [(type, name)]."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, PERFORMANCE_COLUMNS)
        writer.writeheader()
        for i, row in enumerate(rows, start=1):
            prizes = row.get("prizes", [])
            writer.writerow({"活动编号": "BJ-2025-06", "合同ID(_id)": row["contract_id"], "活动城市(province)": "110000",
                             "管家(serviceHousekeeper)": row["housekeeper"], "合同编号(contractdocNum)": row["contract_no"],
                             "合同金额(adjustRefundMoney)": "10000.0", "服务商(orgName)": "", "活动期内第几个合同": i,
                             "激活奖励状态": "1" if prizes else "0",
                             "奖励类型": ", ".join(t for t, _ in prizes), "奖励名称": ", ".join(n for _, n in prizes),
                             "是否发送通知": "Y", "备注": ""})
    return path
