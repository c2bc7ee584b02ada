"""The five campaigns of the packaged incentives.yaml on contract histories built for each:
who wins what on which contract, in the order the old system announced it."""

from __future__ import annotations

import pandas as pd
import pytest

from yd_platform.incentives import store
from yd_platform.incentives.config import load_incentives_config
from yd_platform.incentives.rules import Contract, compute_rewards
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.dagster_events import materialization

# (housekeeper, provider, amount, work order); signing order is list order
BJ_APRIL = [
    ("张伟", "甲", 5000, "W1"), ("张伟", "甲", 5000, "W2"), ("李娜", "甲", 150000, "W3"),
    ("张伟", "甲", 5000, "W4"), ("张伟", "甲", 5000, "W5"), ("李娜", "甲", 20000, "W3"),
    ("张伟", "甲", 5000, "W6"), ("张伟", "甲", 12000, "W7"), ("胡林波", "甲", 9000, "W8"),
    ("李娜", "甲", 1000, "W9"), ("李娜", "甲", 1000, "W10"), ("李娜", "甲", 1000, "W11"),
    ("李娜", "甲", 1000, "W12"), ("张伟", "甲", 5000, "W13"), ("胡林波", "甲", 1000, "W14"),
    ("胡林波", "甲", 1000, "W15"), ("胡林波", "甲", 1000, "W16"), ("胡林波", "甲", 8000, "W17"),
]
BJ_MAY = ([("王强", "甲", 30000, f"W{i}") for i in range(1, 6)] + [("赵敏", "甲", 9999, "W6"), ("王强", "甲", 50000, "W7")]
          + [("赵敏", "甲", 10000, f"W{i}") for i in range(8, 17)])
SH_MARCH = [("周杰", "甲", 20000), ("周杰", "乙", 30000), ("周杰", "甲", 20000), ("周杰", "乙", 30000),
            ("周杰", "甲", 1000), ("周杰", "乙", 1000), ("吴磊", "甲", 130000), ("吴磊", "甲", 1), ("吴磊", "甲", 1)]
SH_APRIL = ([("孙悦", "甲", 9000)] * 5 + [("郑爽", "乙", 12000), ("孙悦", "甲", 20000)]
            + [("李卓", "乙", 1000)] * 8 + [("李卓", "乙", 5000)])
SH_MAY = ([("孙悦", "甲", 10000)] * 4 + [("孙悦", "甲", 90000), ("郑爽", "乙", 9999)]
          + [("吴磊", "甲", 8000)] * 5 + [("吴磊", "甲", 85000)])

CAMPAIGNS = [
    # (city, month, history, [(campaign seq, person, prize, yuan)] in announcement order)
    ("BJ", "2025-04", BJ_APRIL, [
        (8, "张伟", "接好运万元以上", 66),
        (13, "李娜", "优秀奖", 400), (13, "李娜", "达标奖", 200),  # 精英奖 missed: work order W3 counts 100,000 once
        (14, "张伟", "达标奖", 200),
        (18, "胡林波", "接好运", 72)]),  # elite housekeeper: 36 doubled
    ("BJ", "2025-05", BJ_MAY, [
        (6, "赵敏", "接好运", 28),
        (7, "王强", "精英奖", 600), (7, "王强", "达标奖", 200), (7, "王强", "优秀奖", 400),
        (15, "赵敏", "达标奖", 200), (16, "赵敏", "接好运万元以上", 58)]),
    ("SH", "2025-03", SH_MARCH, [  # no lucky number in March; counted per housekeeper and provider
        (5, "周杰_甲", "基础奖", 200),
        (6, "周杰_乙", "达标奖", 300), (6, "周杰_乙", "基础奖", 200),
        (9, "吴磊_甲", "精英奖", 800), (9, "吴磊_甲", "基础奖", 200), (9, "吴磊_甲", "达标奖", 300),
        (9, "吴磊_甲", "优秀奖", 400)]),
    ("SH", "2025-04", SH_APRIL, [
        (5, "孙悦_甲", "基础奖", 200), (6, "郑爽_乙", "接好运万元以上", 66), (7, "孙悦_甲", "达标奖", 300),
        (16, "李卓_乙", "接好运", 72)]),
    ("SH", "2025-05", SH_MAY, [
        (5, "孙悦_甲", "精英奖", 800), (5, "孙悦_甲", "基础奖", 200), (5, "孙悦_甲", "达标奖", 300),
        (5, "孙悦_甲", "优秀奖", 400), (6, "郑爽_乙", "接好运", 36),
        (11, "吴磊_甲", "基础奖", 200),
        (12, "吴磊_甲", "精英奖", 800), (12, "吴磊_甲", "达标奖", 300), (12, "吴磊_甲", "优秀奖", 400)]),
]


def history(city: str, month: str, rows: list[tuple]) -> list[Contract]:
    day = f"{month}-01"
    return [Contract(contract_id=f"{city}{month}-{i:03d}", contract_no=f"YHWX-{city}-{i:03d}", housekeeper=row[0],
                     provider=row[1], amount=float(row[2]), signed_at=f"{day}T08:{i // 60:02d}:{i % 60:02d}",
                     work_order=row[3] if len(row) > 3 else "", conversion=0.356)
            for i, row in enumerate(rows, start=1)]


@pytest.mark.parametrize(("city", "month", "rows", "expected"), CAMPAIGNS, ids=[f"{c[0]}-{c[1]}" for c in CAMPAIGNS])
def test_campaign_rewards(city, month, rows, expected):
    rules = load_incentives_config().rule_set(city, month)
    results, awards = compute_rewards(history(city, month, rows), rules, city, month)
    assert [(a.platform_seq, a.person, a.reward_name, a.reward) for a in awards] == expected
    # the award-name list of each contract follows the same order
    for seq in {a.platform_seq for a in awards}:
        names = [a.reward_name for a in awards if a.platform_seq == seq]
        assert results[seq - 1].reward_names == ", ".join(names)
        assert results[seq - 1].reward_total == sum(a.reward for a in awards if a.platform_seq == seq)


def test_work_order_cap_beside_the_contract_cap():
    rules = load_incentives_config().rule_set("BJ", "2025-04")
    results, _ = compute_rewards(history("BJ", "2025-04", BJ_APRIL), rules, "BJ", "2025-04")
    lina = [r for r in results if r.person == "李娜"]
    assert [r.counted_amount for r in lina] == [100000, 100000, 101000, 102000, 103000, 104000]
    assert lina[-1].person_amount == 174000
    assert lina[-1].gap_text == "距离 精英奖 还需 16,000 元"
    # the same contracts on separate work orders: only the per-contract cap, so 精英奖 is reached
    separate = [r if r[0] != "李娜" else (*r[:3], f"own-{i}") for i, r in enumerate(BJ_APRIL)]
    _, awards = compute_rewards(history("BJ", "2025-04", separate), rules, "BJ", "2025-04")
    assert [a.reward_name for a in awards if a.person == "李娜"] == ["精英奖", "达标奖", "优秀奖"]


def test_work_order_cap_counts_what_is_left_of_the_order():
    rules = load_incentives_config().rule_set("BJ", "2025-05")
    rows = [("王强", "甲", 70000, "W1"), ("王强", "甲", 50000, "W1"), ("王强", "甲", 50000, "W2")]
    results, _ = compute_rewards(history("BJ", "2025-05", rows), rules, "BJ", "2025-05")
    assert [r.counted_amount for r in results] == [70000, 100000, 150000]


def _write_contracts(home, city: str, month: str, contracts: list[Contract]) -> None:
    frame = pd.DataFrame([c.__dict__ for c in contracts], columns=list(Contract.__dataclass_fields__))
    store.write_frame(LocalObjectStore(home / "objects"), store.contracts_key(month, city), frame)


@pytest.mark.parametrize(("city", "month", "rows", "first_lines"), [
    ("BJ", "2025-04", BJ_APRIL, "🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 张伟 签约合同 YHWX-BJ-008 并完成线上收款🎉🎉🎉\n\n"
                                "🌻 本单为活动期间平台累计签约第 8 单，个人累计签约第 6 单。\n\n"
                                "🌻 张伟累计签约 37,000 元, 累计计入业绩 37,000 元\n\n"
                                "🧧 达成接好运万元以上奖励条件，获得签约奖励66元 🧧🧧🧧\n\n"
                                "👊 距离 达标奖 还需 3,000 元。\n"),
    ("SH", "2025-05", SH_MAY, "🧨🧨🧨 签约喜报 🧨🧨🧨\n\n恭喜 孙悦 签约合同 YHWX-SH-005 并完成线上收款🎉🎉🎉\n\n"
                              "🌻 本单为本月平台累计签约第 5 单，\n\n🌻 个人累计签约第 5 单，\n\n"
                              "🌻 个人累计签约 130,000 元，\n\n🌻 个人转化率 35%，\n\n"
                              "🧧 达成精英奖奖励条件，获得签约奖励800元 🧧🧧🧧\n\n"
                              "👊 恭喜已经达成所有奖励，祝愿再接再厉，再创佳绩 🎉🎉🎉。\n"),
])
def test_notices_use_the_campaign_wording_in_award_order(city, month, rows, first_lines, robot, runs, yd_home):
    cfg = load_incentives_config()
    cfg = cfg.model_copy(update={"notices": cfg.notices.model_copy(
        update={"url_env": "YD_TEST_INCENTIVES_URL", "send_interval_seconds": 0})})
    contracts = history(city, month, rows)
    _write_contracts(yd_home, city, month, contracts)
    result = runs.run(cfg, ("rewards", "reward_notices"), f"{city}|{month}")
    assert result.success
    _, awards = compute_rewards(contracts, cfg.rule_set(city, month), city, month)
    texts = robot.texts()
    assert len(texts) == len(awards)
    assert texts[0] == first_lines
    announced = [next(n for n in (a.reward_name for a in awards) if f"达成{n}奖励" in t or f"达成 {n} 奖励" in t)
                 for t in texts]
    assert announced == [a.reward_name for a in awards]


def test_elite_housekeeper_badge_and_doubled_prize(robot, runs, yd_home):
    cfg = load_incentives_config()
    cfg = cfg.model_copy(update={"notices": cfg.notices.model_copy(
        update={"url_env": "YD_TEST_INCENTIVES_URL", "send_interval_seconds": 0})})
    _write_contracts(yd_home, "BJ", "2025-04", history("BJ", "2025-04", BJ_APRIL))
    assert runs.run(cfg, ("rewards", "reward_notices"), "BJ|2025-04").success
    elite = robot.texts()[-1]
    assert "恭喜 【🎖精英管家】胡林波 签约合同 YHWX-BJ-018" in elite
    assert "达成 接好运 奖励条件，奖励金额 36 元，同时触发“精英连击双倍奖励”，奖励金额🚀直升至 72 元！" in elite


def test_month_with_contracts_but_no_rules_is_a_warning(robot, runs):
    cfg = load_incentives_config()
    result = runs.run(cfg, ("contracts", "rewards"), "BJ|2025-03")
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "rules_configured" and not check.passed
    assert check.severity.value == "WARN"
    assert "contract(s) of BJ 2025-03 but incentives.yaml has no rules" in check.description
    assert materialization(result, "rewards")["rules"] == "none for this city and month"
    configured = runs.run(cfg, ("contracts", "rewards"), "SH|2025-03")
    assert [c.passed for c in configured.get_asset_check_evaluations()] == [True]
