"""The incentives dashboard (Streamlit): performance and reward standings per city and
month, notices sent and pending, SLA violations over time. Started by `yd-platform
dashboard`; reads the object store and app database named by the environment, exactly as
the incentive assets do (see `yd_platform.deployment`)."""

import altair as alt
import streamlit as st

from yd_platform.dashboard import data as d
from yd_platform.deployment import app_db_url
from yd_platform.incentives.config import load_incentives_config
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import object_store_from_env

REFRESH_SECONDS = 60


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner="读取激励数据…")
def _load() -> d.DashboardData:
    return d.load(object_store_from_env().resolved().client(), engine_for(app_db_url()))


def _yuan(value: float) -> str:
    return f"{value:,.0f}"


def _sidebar(data: d.DashboardData, names: dict[str, str]) -> d.Filters:
    st.sidebar.header("筛选")
    city = st.sidebar.selectbox("城市", [d.ALL, *data.cities()],
                                format_func=lambda c: c if c == d.ALL else f"{names.get(c, c)} ({c})")
    month = st.sidebar.selectbox("月份", [d.ALL, *data.months()])
    provider = st.sidebar.selectbox("服务商", [d.ALL, *data.providers()])
    st.sidebar.caption(f"数据每 {REFRESH_SECONDS} 秒重新读取一次")
    if st.sidebar.button("立即刷新"):
        _load.clear()
    return d.Filters(city=city, month=month, provider=provider)


def _figures(view: d.DashboardData) -> None:
    figures = d.key_figures(view)
    cols = st.columns(6)
    cols[0].metric("签约单数", figures["contracts"])
    cols[1].metric("签约金额(元)", _yuan(figures["signed_amount"]))
    cols[2].metric("奖励数", figures["awards"])
    cols[3].metric("奖励金额(元)", _yuan(figures["reward_yuan"]))
    cols[4].metric("通知已发送", figures["notices_sent"])
    cols[5].metric("通知待发送", figures["notices_pending"])


def _section(title: str, frame, empty_text: str) -> bool:
    """A section heading; False (with a note) when there is nothing to draw."""
    st.subheader(title)
    if frame.empty:
        st.info(empty_text)
    return not frame.empty


def _person_bars(top, column: str, color: str) -> alt.Chart:
    return alt.Chart(top).mark_bar(color=color).encode(
        x=alt.X(f"{column}:Q"), y=alt.Y("人员:N", sort="-x"), tooltip=list(top.columns)
    ).properties(title=column, height=320)


def _standings(view: d.DashboardData) -> None:
    table = d.standings(view)
    if not _section("业绩与奖励排行", table, "所选范围内没有合同。"):
        return
    top = table.groupby("人员", as_index=False)[["累计签约(元)", "奖励金额(元)"]].sum()
    top = top.sort_values("累计签约(元)", ascending=False).head(15)
    left, right = st.columns(2)
    left.altair_chart(_person_bars(top, "累计签约(元)", "#1f6fd1"), use_container_width=True)
    right.altair_chart(_person_bars(top, "奖励金额(元)", "#e4572e"), use_container_width=True)
    st.dataframe(table, hide_index=True, use_container_width=True)


def _notices(view: d.DashboardData) -> None:
    table = d.notices_by_status(view)
    if not _section("奖励通知", table, "所选范围内还没有通知。"):
        return
    long = table.melt(id_vars=["城市", "月份"], var_name="状态", value_name="条数")
    long["分区"] = long["城市"] + " " + long["月份"]
    st.altair_chart(alt.Chart(long[long["条数"] > 0]).mark_bar().encode(
        x=alt.X("分区:N", title=None), y=alt.Y("条数:Q"), color=alt.Color("状态:N"), tooltip=["分区", "状态", "条数"]
    ).properties(height=260), use_container_width=True)
    st.dataframe(table, hide_index=True, use_container_width=True)


def _violations(view: d.DashboardData) -> None:
    per_day = d.violations_per_day(view)
    if not _section("SLA 违规趋势", per_day, "所选范围内没有违规记录。"):
        return
    long = per_day.reset_index().melt(id_vars="day", var_name="服务商", value_name="违规数")
    long = long[long["违规数"] > 0]
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=alt.X("day:O", title="日期"), y=alt.Y("sum(违规数):Q", title="违规数"),
        color=alt.Color("服务商:N", legend=alt.Legend(labelLimit=260)), tooltip=["day", "服务商", "违规数"]
    ).properties(height=300), use_container_width=True)
    st.caption(f"共 {len(view.violations)} 条违规，{long['服务商'].nunique()} 家服务商")


def main() -> None:
    st.set_page_config(page_title="销售激励看板", page_icon="🧧", layout="wide")
    st.title("销售激励看板")
    data = _load()
    names = d.city_names(load_incentives_config())
    filters = _sidebar(data, names)
    view = d.filtered(data, filters)
    _figures(view)
    _standings(view)
    _notices(view)
    _violations(view)


main()
