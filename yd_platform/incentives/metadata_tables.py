"""Markdown tables for asset metadata, so the Dagster UI shows the reports people read."""

from __future__ import annotations

from collections import defaultdict

from yd_platform.incentives.rules import ContractResult, format_yuan


def md_table(headers: list[str], rows: list[list[object]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def rewards_per_person(results: list[ContractResult]) -> str:
    """One row per person: contracts, amounts, prizes won (elite doubling included), and the
    distance to the next tier."""
    last: dict[str, ContractResult] = {}
    won: dict[str, list[str]] = defaultdict(list)
    total: dict[str, float] = defaultdict(float)
    for r in results:
        last[r.person] = r
        won[r.person] += [n for n in r.reward_names.split(", ") if n]
        total[r.person] += r.reward_total
    rows = []
    for person, r in sorted(last.items(), key=lambda kv: -kv[1].person_amount):
        rows.append([person, r.person_count, format_yuan(r.person_amount), format_yuan(r.counted_amount),
                     "、".join(won[person]) or "-", format_yuan(total[person]), r.gap_text or "已达成所有奖励"])
    return md_table(["人员", "单数", "累计签约(元)", "计入业绩(元)", "奖励", "奖励金额(元)", "下一级"], rows)


def sla_per_provider(counts: dict[str, int], notes: dict[str, str] | None = None) -> str:
    notes = notes or {}
    rows = [[p, n, notes.get(p, "")] for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return md_table(["服务商", "违规数", "通知"], rows)
