"""Deterministic demo data for the embedded default (no Metabase): the same month, city or
day always yields the same contracts and violations, so reruns and tests are repeatable."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta

from yd_platform.incentives.rules import Contract

HOUSEKEEPERS = {
    "BJ": [("马明超", 0), ("李四", 1), ("王强", 0), ("赵敏", 1), ("刘洋", 0)],
    "SH": [("周杰", 0), ("吴磊", 1), ("郑爽", 0), ("孙悦", 1)],
}
PROVIDERS = {
    "BJ": ["北京博远恒泰装饰装修有限公司", "北京众德森建材有限责任公司"],
    "SH": ["上海新增长装饰工程有限公司", "上海锦程建筑防水工程有限公司"],
}
VIOLATION_KINDS = [("超时", "上门超时"), ("超时", "报价超时"), ("联络超时", "分单后4小时内未联系客户")]


def _rng(*parts: object) -> random.Random:
    seed = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return random.Random(int(seed[:16], 16))


def demo_contracts(city: str, month: str, count: int = 36) -> list[Contract]:
    rng = _rng("contracts", city, month)
    people = HOUSEKEEPERS.get(city) or [(f"{city}管家{i}", i % 2) for i in range(4)]
    providers = PROVIDERS.get(city) or [f"{city}服务商{i}" for i in range(2)]
    start = datetime.strptime(month + "-01", "%Y-%m-%d")
    out = []
    for i in range(count):
        name, provider_index = people[rng.randrange(len(people))]
        # every fifth contract continues the previous one's work order (one project, two contracts)
        work_order = i if i % 5 else max(i - 1, 0)
        signed = start + timedelta(days=min(i * 28 // count, 27), hours=9 + rng.randrange(10),
                                   minutes=rng.randrange(60))
        out.append(Contract(
            contract_id=f"{city}{month.replace('-', '')}{i + 1:04d}",
            contract_no=f"YHWX-{city}-{month.replace('-', '')}-{i + 1:04d}",
            housekeeper=name, provider=providers[provider_index],
            amount=float(rng.choice([3800, 5600, 8800, 12000, 16800, 23000, 31000, 45000])),
            signed_at=signed.isoformat(), work_order=f"GD{city}{month.replace('-', '')}{work_order + 1:04d}",
            conversion=round(rng.uniform(0.2, 0.6), 2)))
    return out


def demo_violations(day: date, providers: list[str]) -> list[dict]:
    """0-2 violations for some providers; every fourth day none at all."""
    rng = _rng("sla", day.isoformat())
    if day.toordinal() % 4 == 0:
        return []
    out = []
    for p_index, provider in enumerate(providers):
        for n in range(rng.choice([0, 0, 1, 2])):
            kind, memo = VIOLATION_KINDS[rng.randrange(len(VIOLATION_KINDS))]
            created = datetime.combine(day, datetime.min.time()) + timedelta(hours=8 + rng.randrange(12))
            out.append({
                "violation_id": f"SLA{day:%Y%m%d}{p_index:02d}{n:02d}",
                "provider": provider,
                "order_no": f"GD{day:%Y%m%d}{p_index:02d}{n:03d}",
                "created_at": created.isoformat(timespec="seconds"),
                "housekeeper": HOUSEKEEPERS["BJ"][rng.randrange(5)][0],
                "kind": kind, "memo": memo,
            })
    return out
