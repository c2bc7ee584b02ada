"""What the dashboard shows, read from what the incentive assets wrote: the per-contract
results and awards of `incentives/rewards`, the award notices `reward_notices` handed to
the outbox (and what became of them), and the day files of `incentives/sla_violations`.
Nothing here recomputes a reward, so the page always agrees with what was announced.

Everything is a pandas frame, filtered by `Filters`; the Streamlit page only draws them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from yd_platform.incentives import notices as incentive_notices
from yd_platform.incentives import store
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.outbox.enqueue import stored_key
from yd_platform.outbox.tables import FAILED, HELD, QUEUED, SENDING, SENT, SKIPPED

ALL = "全部"
PARTITION_RE = re.compile(r"/month=(\d{4}-\d{2})/city=([^/]+)/rewards\.parquet$")
DAY_RE = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/violations\.parquet$")
NOTICE_STATES = {SENT: "已发送", QUEUED: "待发送", SENDING: "发送中(未确认)", FAILED: "失败", SKIPPED: "未配置机器人",
                 HELD: "影子模式暂扣"}


@dataclass(frozen=True)
class Filters:
    city: str = ALL
    month: str = ALL
    provider: str = ALL


@dataclass
class DashboardData:
    results: pd.DataFrame      # one row per contract (incentives/rewards)
    awards: pd.DataFrame       # one row per award
    notices: pd.DataFrame      # reward notices: partition, status
    violations: pd.DataFrame   # SLA violations with their day

    def cities(self) -> list[str]:
        return sorted(self.results["city"].unique()) if len(self.results) else []

    def months(self) -> list[str]:
        return sorted(self.results["month"].unique(), reverse=True) if len(self.results) else []

    def providers(self) -> list[str]:
        names = set(self.results.get("provider", pd.Series(dtype=str))) | set(
            self.violations.get("provider", pd.Series(dtype=str)))
        return sorted(n for n in names if n)


def _frames(client, prefix: str, pattern: re.Pattern) -> list[tuple[tuple[str, ...], pd.DataFrame]]:
    out = []
    for info in client.list(prefix):
        match = pattern.search("/" + info.key)
        if match:
            frame = store.read_frame(client, info.key)
            if frame is not None:
                out.append((match.groups(), frame))
    return out


def load_results_and_awards(client) -> tuple[pd.DataFrame, pd.DataFrame]:
    results, awards = [], []
    for (month, city), frame in _frames(client, f"{store.PREFIX}/rewards/", PARTITION_RE):
        award_frame = store.read_frame(client, store.awards_key(month, city))
        if award_frame is not None and len(award_frame):
            awards.append(award_frame)
        if "reward_total" not in frame:  # written before per-contract totals were kept
            per_contract = award_frame.groupby("contract_id")["reward"].sum() if award_frame is not None \
                and len(award_frame) else pd.Series(dtype=float)
            frame = frame.assign(reward_total=frame["contract_id"].map(per_contract).fillna(0.0))
        results.append(frame.assign(month=month, city=city))
    empty_results = pd.DataFrame(columns=["month", "city", "person", "housekeeper", "provider", "amount",
                                          "counted_amount", "person_amount", "reward_total", "reward_names",
                                          "gap_text", "signed_at", "contract_id"])
    empty_awards = pd.DataFrame(columns=["award_id", "month", "city", "person", "provider", "reward_name",
                                         "reward"])
    return (pd.concat(results, ignore_index=True) if results else empty_results,
            pd.concat(awards, ignore_index=True) if awards else empty_awards)


def load_violations(client) -> pd.DataFrame:
    frames = [f.assign(day=day) for (day,), f in _frames(client, f"{store.PREFIX}/sla_violations/", DAY_RE) if len(f)]
    if not frames:
        return pd.DataFrame(columns=["day", "provider", "violation_id", "kind"])
    return pd.concat(frames, ignore_index=True)


def load_notices(engine: sa.Engine) -> pd.DataFrame:
    """Award notices with their month, city and status (none yet: an empty frame)."""
    columns = ["notice_id", "month", "city", "status"]
    return pd.DataFrame(incentive_notices.reward_notices(engine), columns=columns)


def load(client, engine: sa.Engine) -> DashboardData:
    results, awards = load_results_and_awards(client)
    return DashboardData(results=results, awards=awards, notices=load_notices(engine),
                         violations=load_violations(client))


def _pick(frame: pd.DataFrame, filters: Filters, provider: bool = True) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    if filters.city != ALL and "city" in frame:
        mask &= frame["city"] == filters.city
    if filters.month != ALL and "month" in frame:
        mask &= frame["month"] == filters.month
    if provider and filters.provider != ALL and "provider" in frame:
        mask &= frame["provider"] == filters.provider
    return frame[mask]


def filtered(data: DashboardData, filters: Filters) -> DashboardData:
    """The same data narrowed to a city, month and provider (notices have no provider:
    they narrow through the awards they announce)."""
    awards = _pick(data.awards, filters)
    notices = _pick(data.notices, filters)
    if filters.provider != ALL and "award_id" in awards:
        notices = notices[notices["notice_id"].isin({stored_key(a) for a in awards["award_id"]})]
    violations = data.violations
    if filters.month != ALL and len(violations):
        violations = violations[violations["day"].str.startswith(filters.month)]
    if filters.provider != ALL and len(violations):
        violations = violations[violations["provider"] == filters.provider]
    return DashboardData(results=_pick(data.results, filters), awards=awards, notices=notices,
                         violations=violations)


def key_figures(data: DashboardData) -> dict[str, float]:
    status = data.notices["status"].value_counts() if len(data.notices) else pd.Series(dtype=int)
    return {
        "contracts": len(data.results),
        "signed_amount": float(data.results["amount"].sum()) if len(data.results) else 0.0,
        "awards": len(data.awards),
        "reward_yuan": float(data.awards["reward"].sum()) if len(data.awards) else 0.0,
        "notices_sent": int(status.get(SENT, 0)),
        "notices_pending": int(status.get(QUEUED, 0) + status.get(SENDING, 0)),
        "violations": len(data.violations),
    }


def standings(data: DashboardData) -> pd.DataFrame:
    """Per city, month and person: contracts, amounts, prizes won and the distance to the next tier."""
    columns = ["城市", "月份", "人员", "服务商", "单数", "累计签约(元)", "计入业绩(元)", "奖励", "奖励金额(元)", "下一级"]
    if not len(data.results):
        return pd.DataFrame(columns=columns)
    ordered = data.results.sort_values(["city", "month", "signed_at", "contract_id"])
    rows = []
    for (city, month, person), group in ordered.groupby(["city", "month", "person"], sort=False):
        last = group.iloc[-1]
        won = [n for names in group["reward_names"] for n in str(names).split(", ") if n]
        rows.append([city, month, person, last["provider"], len(group), float(last["person_amount"]),
                     float(last["counted_amount"]), "、".join(won) or "-", float(group["reward_total"].sum()),
                     last["gap_text"] or "已达成所有奖励"])
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["城市", "月份", "奖励金额(元)", "累计签约(元)"], ascending=[True, False, False, False],
                             ignore_index=True)


def notices_by_status(data: DashboardData) -> pd.DataFrame:
    """Notice counts per city and month, one column per status."""
    if not len(data.notices):
        return pd.DataFrame(columns=["城市", "月份", *NOTICE_STATES.values()])
    table = data.notices.pivot_table(index=["city", "month"], columns="status", values="notice_id",
                                     aggfunc="count", fill_value=0)
    table = table.reindex(columns=list(NOTICE_STATES), fill_value=0).reset_index()
    return table.rename(columns={"city": "城市", "month": "月份", **NOTICE_STATES})


def violations_per_day(data: DashboardData) -> pd.DataFrame:
    """Violations per day (rows) and provider (columns), for the line chart."""
    if not len(data.violations):
        return pd.DataFrame()
    return data.violations.pivot_table(index="day", columns="provider", values="violation_id",
                                       aggfunc="count", fill_value=0).sort_index()


def city_names(cfg: IncentivesConfig) -> dict[str, str]:
    return {code: city.name for code, city in cfg.cities.items()}
