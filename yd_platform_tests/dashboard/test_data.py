"""The dashboard's figures against what the incentive assets wrote, counted independently
from the parquet files and the award notices in the outbox."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from yd_platform.dashboard import data as d
from yd_platform.outbox.tables import messages
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.dashboard.conftest import DAYS


def _load(seeded_home) -> d.DashboardData:
    home, db_url = seeded_home
    return d.load(LocalObjectStore(home / "objects"), engine_for(db_url))


def _parquet(home, pattern: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((home / "objects").glob(pattern))], ignore_index=True)


def test_figures_match_the_assets_output(seeded_home):
    home, db_url = seeded_home
    data = _load(seeded_home)
    awards = _parquet(home, "incentives/rewards/month=*/city=*/awards.parquet")
    contracts = _parquet(home, "incentives/contracts/month=*/city=*/contracts.parquet")
    with engine_for(db_url).connect() as conn:
        status = dict(conn.execute(sa.select(messages.c.status, sa.func.count())
                                   .where(messages.c.kind == "reward").group_by(messages.c.status)).all())
    figures = d.key_figures(data)
    assert figures["contracts"] == len(contracts) == 108
    assert figures["awards"] == len(awards) and figures["reward_yuan"] == awards["reward"].sum() > 0
    assert figures["notices_sent"] == status["sent"] > 0
    assert figures["notices_pending"] == status["queued"] > 0
    assert figures["violations"] == len(_parquet(home, "incentives/sla_violations/dt=*/violations.parquet"))
    assert data.cities() == ["BJ", "SH"] and data.months() == ["2025-05", "2025-04"]
    assert sorted(data.violations["day"].unique()) == sorted(d for d in DAYS if d in set(data.violations["day"]))


def test_filters_narrow_every_figure(seeded_home):
    data = _load(seeded_home)
    shanghai = d.key_figures(d.filtered(data, d.Filters(city="SH")))
    assert shanghai["contracts"] == 36 and shanghai["notices_sent"] == 0 and shanghai["notices_pending"] > 0
    may = d.filtered(data, d.Filters(month="2025-05"))
    assert set(may.results["month"]) == {"2025-05"} and may.violations.empty
    provider = data.results["provider"].iloc[0]
    assert provider in data.providers()
    by_provider = d.filtered(data, d.Filters(provider=provider))
    assert set(by_provider.results["provider"]) == {provider}
    assert set(by_provider.notices["notice_id"]) <= set(by_provider.awards["award_id"])
    assert d.key_figures(by_provider)["contracts"] < d.key_figures(data)["contracts"]


def test_standings_add_up_to_the_awards(seeded_home):
    data = _load(seeded_home)
    table = d.standings(d.filtered(data, d.Filters(city="BJ", month="2025-04")))
    awards = data.awards[(data.awards["city"] == "BJ") & (data.awards["month"] == "2025-04")]
    assert table["奖励金额(元)"].sum() == awards["reward"].sum()
    assert table["单数"].sum() == 36
    top = table.iloc[0]
    assert top["奖励金额(元)"] == awards.groupby("person")["reward"].sum().max()
    notices = d.notices_by_status(data)
    assert list(notices.columns) == ["城市", "月份", "已发送", "待发送", "发送中(未确认)", "失败", "未配置机器人", "影子模式暂扣"]
    assert d.violations_per_day(data).sum().sum() == len(data.violations)


def test_results_written_before_per_contract_totals_take_them_from_the_awards(tmp_path, seeded_home):
    home, _ = seeded_home
    client = LocalObjectStore(tmp_path / "objects")
    for key in ("incentives/rewards/month=2025-04/city=BJ/rewards.parquet",
                "incentives/rewards/month=2025-04/city=BJ/awards.parquet"):
        frame = pd.read_parquet(home / "objects" / key)
        if key.endswith("rewards.parquet"):
            frame = frame.drop(columns=["reward_total"])
        client.put_bytes(key, frame.to_parquet(index=False))
    results, awards = d.load_results_and_awards(client)
    assert results["reward_total"].sum() == awards["reward"].sum() > 0
