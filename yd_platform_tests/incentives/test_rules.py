"""Reward rules, table-driven: each rule kind at its boundaries, as the old system decided."""

from __future__ import annotations

import pytest

from yd_platform.incentives.config import RuleSet
from yd_platform.incentives.rules import ALL_DONE, Contract, compute_rewards, format_yuan

AMOUNT_LADDER = {"by": "amount", "min_contracts": 3, "tiers": [
    {"name": "达标奖", "threshold": 40000, "reward": 200},
    {"name": "优秀奖", "threshold": 60000, "reward": 400},
    {"name": "精英奖", "threshold": 80000, "reward": 600}]}
COUNT_LADDER = {"by": "count", "reward_type": "签约单量", "tiers": [
    {"name": "二单奖", "threshold": 2, "reward": 50}, {"name": "四单奖", "threshold": 4, "reward": 150}]}
LUCKY = {"number": "8", "base": {"name": "接好运", "reward": 36},
         "high": {"name": "接好运万元以上", "reward": 66, "threshold": 10000}}


def _contracts(amounts, people=None, providers=None):
    people = people or ["张三"] * len(amounts)
    providers = providers or ["甲公司"] * len(amounts)
    return [Contract(contract_id=f"C{i:03d}", contract_no=f"HT-{i:03d}", housekeeper=p, provider=pr,
                     amount=float(a), signed_at=f"2025-06-01T10:{i:02d}:00")
            for i, (a, p, pr) in enumerate(zip(amounts, people, providers), start=1)]


def _run(rules: dict, amounts, **kw):
    results, awards = compute_rewards(_contracts(amounts, **kw), RuleSet.model_validate(rules), "BJ", "2025-06")
    return results, awards


TIER_CASES = [
    # (case, rules, amounts, awarded names in order, gap text after the last contract)
    ("amount exact threshold", {"tiers": [AMOUNT_LADDER]}, [10000, 10000, 20000],
     ["达标奖"], "距离 优秀奖 还需 20,000 元"),
    ("amount one yuan below", {"tiers": [AMOUNT_LADDER]}, [10000, 10000, 19999],
     [], "距离 达标奖 还需 1 元"),
    ("reaching tier 2 awards it, then tier 1", {"tiers": [AMOUNT_LADDER]}, [10000, 10000, 45000],
     ["优秀奖", "达标奖"], "距离 精英奖 还需 15,000 元"),
    ("top tier first, then the skipped ones ascending", {"tiers": [AMOUNT_LADDER]}, [30000, 30000, 30000],
     ["精英奖", "达标奖", "优秀奖"], ""),
    ("minimum contracts not met", {"tiers": [AMOUNT_LADDER]}, [50000, 50000],
     [], "距离达成节节高奖励条件还需 1 单"),
    ("per-contract cap", {"tiers": [AMOUNT_LADDER], "contract_amount_cap": 30000}, [60000, 10000, 1000],
     ["达标奖"], "距离 优秀奖 还需 19,000 元"),
    ("count exact threshold", {"tiers": [COUNT_LADDER]}, [100, 100],
     ["二单奖"], "距离 四单奖 还需 2 单"),
    ("count one below", {"tiers": [COUNT_LADDER]}, [100],
     [], "距离 二单奖 还需 1 单"),
    ("count ladder all reached", {"tiers": [COUNT_LADDER]}, [100] * 5,
     ["二单奖", "四单奖"], ""),
    ("two ladders, both gaps", {"tiers": [COUNT_LADDER, AMOUNT_LADDER]}, [10000, 10000, 10000],
     ["二单奖"], "距离 四单奖 还需 1 单；距离 达标奖 还需 10,000 元"),
    ("decimal gap", {"tiers": [AMOUNT_LADDER]}, [10000, 10000, 19999.5],
     [], "距离 达标奖 还需 0.50 元"),
]


@pytest.mark.parametrize(("case", "rules", "amounts", "names", "gap"), TIER_CASES, ids=[c[0] for c in TIER_CASES])
def test_tiers(case, rules, amounts, names, gap):
    results, awards = _run(rules, amounts)
    assert [a.reward_name for a in awards] == names
    assert results[-1].gap_text == gap


def test_each_tier_is_awarded_once_and_on_the_contract_that_reached_it():
    _, awards = _run({"tiers": [AMOUNT_LADDER]}, [15000, 15000, 15000, 20000, 1000])
    assert [(a.reward_name, a.contract_no, a.person_count) for a in awards] == [
        ("达标奖", "HT-003", 3), ("优秀奖", "HT-004", 4)]
    assert awards[0].gap_text == "距离 优秀奖 还需 15,000 元"
    assert awards[0].award_id == "reward|BJ|2025-06|tier|张三|节节高|达标奖"


LUCKY_CASES = [
    # (case, amount of the 8th contract, prize on the 8th contract)
    ("lucky digit, below high threshold", 9999, "接好运"),
    ("lucky digit, exactly the high threshold", 10000, "接好运万元以上"),
    ("lucky digit, above high threshold", 25000, "接好运万元以上"),
]


@pytest.mark.parametrize(("case", "amount", "prize"), LUCKY_CASES, ids=[c[0] for c in LUCKY_CASES])
def test_lucky_number(case, amount, prize):
    amounts = [1000] * 7 + [amount] + [1000] * 9 + [amount]
    people = [f"管家{i % 3}" for i in range(len(amounts))]
    _, awards = _run({"lucky": LUCKY}, amounts, people=people)
    assert [(a.platform_seq, a.reward_type, a.reward_name) for a in awards] == [
        (8, "幸运数字", prize), (18, "幸运数字", prize)]


def test_lucky_number_is_the_campaign_sequence_not_the_persons():
    amounts = [1000] * 9
    people = ["甲", "乙", "丙"] * 3
    _, awards = _run({"lucky": LUCKY}, amounts, people=people)
    assert [(a.person, a.platform_seq, a.person_count) for a in awards] == [("乙", 8, 3)]


def test_seventh_and_ninth_contracts_win_nothing():
    results, awards = _run({"lucky": LUCKY}, [20000] * 9)
    assert [r.platform_seq for r in results if r.reward_names] == [8]


def test_person_key_with_provider_counts_separately():
    rules = {"tiers": [COUNT_LADDER], "person_key": "housekeeper_provider"}
    _, awards = _run(rules, [100] * 4, people=["张三"] * 4, providers=["甲", "乙", "甲", "乙"])
    assert sorted(a.person for a in awards) == ["张三_乙", "张三_甲"]
    _, by_person = _run({"tiers": [COUNT_LADDER]}, [100] * 4, people=["张三"] * 4, providers=["甲", "乙", "甲", "乙"])
    assert [a.reward_name for a in by_person] == ["二单奖", "四单奖"]


def test_duplicate_contract_ids_count_once():
    contracts = _contracts([30000, 30000])
    contracts.append(contracts[0])
    results, _ = compute_rewards(contracts, RuleSet.model_validate({"tiers": [COUNT_LADDER]}), "BJ", "2025-06")
    assert len(results) == 2


def test_negative_amount_is_refused_naming_the_contract():
    with pytest.raises(ValueError, match="contract C9: amount must not be negative"):
        Contract(contract_id="C9", contract_no="HT-9", housekeeper="张三", provider="甲", amount=-1,
                 signed_at="2025-06-01")


def test_all_done_wording_and_yuan_format():
    assert ALL_DONE == "恭喜已经达成所有奖励，祝愿再接再厉，再创佳绩 🎉🎉🎉"
    assert format_yuan(45000.0) == "45,000"
    assert format_yuan(1234.5) == "1,234.50"
