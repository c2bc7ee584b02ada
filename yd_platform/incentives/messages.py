"""Notice texts, worded as the old incentive system's messages that people know."""

from __future__ import annotations

from datetime import date, timedelta

from yd_platform.incentives.rules import ALL_DONE, Award, format_yuan


def _next_step(gap: str) -> str:
    return gap or ALL_DONE


def reward_text(award: Award, show_counted: bool) -> str:
    counted = f", 累计计入业绩 {format_yuan(award.counted_amount)} 元" if show_counted else ""
    return (
        "🧨🧨🧨 签约喜报 🧨🧨🧨\n"
        f"恭喜 {award.housekeeper} 签约合同 {award.contract_no} 并完成线上收款🎉🎉🎉\n\n"
        f"🌻 本单为活动期间平台累计签约第 {award.platform_seq} 单，个人累计签约第 {award.person_count} 单。\n\n"
        f"🌻 {award.housekeeper}累计签约 {format_yuan(award.person_amount)} 元{counted}\n\n"
        f"🧧 达成 {award.reward_name} 奖励条件，获得签约奖励 {format_yuan(award.reward)} 元 🧧🧧🧧\n\n"
        f"👊 {_next_step(award.gap_text)}。\n"
    )


def reward_markdown(award: Award, show_counted: bool) -> str:
    counted = f"，累计计入业绩 **{format_yuan(award.counted_amount)}** 元" if show_counted else ""
    return (
        "## 🧨 签约喜报 🧨\n"
        f"恭喜 **{award.housekeeper}** 签约合同 {award.contract_no} 并完成线上收款🎉\n"
        f"> 本单为活动期间平台累计签约第 **{award.platform_seq}** 单，个人累计签约第 **{award.person_count}** 单\n"
        f"> {award.housekeeper}累计签约 **{format_yuan(award.person_amount)}** 元{counted}\n\n"
        f"<font color=\"warning\">达成 {award.reward_name} 奖励条件，获得签约奖励 {format_yuan(award.reward)} 元 🧧</font>\n\n"
        f"<font color=\"comment\">👊 {_next_step(award.gap_text)}。</font>"
    )


def _appeal(contact: str) -> str:
    return f"运营人员{contact}"


def sla_daily_text(provider: str, day: date, violations: list[dict], contact: str, part: str = "") -> str:
    """`part` ("（1/2）") marks one of several messages when the violations do not fit one."""
    lines = [
        f"工单编号：{v['order_no']}\n建单时间：{v['created_at']}\n管家：{v['housekeeper']}\n"
        f"违规类型：{v['kind']}\n违规描述：{v['memo']}\n"
        for v in violations
    ]
    return (f"📢 超时情况通报{part}\n\n服务商：{provider}\n日期：{day.isoformat()}\n\n" + "\n".join(lines)
            + f"\n说明：以上数据为服务商昨日工单超时统计，如有异议请于下周一十二点前联系{_appeal(contact)}申诉。")


def week_bounds(week_start: date) -> tuple[date, date, date]:
    """(first day, last day, appeal day = the Monday after) of a Monday-started week."""
    return week_start, week_start + timedelta(days=6), week_start + timedelta(days=7)


def sla_weekly_text(provider: str, week_start: date, violations: list[dict], contact: str, part: str = "") -> str:
    first, last, appeal_day = week_bounds(week_start)
    body = f"数据周期: {first:%Y.%m.%d}-{last:%Y.%m.%d}{part}\n服务商: {provider}\n\n"
    for v in violations:
        body += f"- 工单编号：{v['order_no']} 管家：{v['housekeeper']} 违规类型：{v['kind']}\n"
    body += f"\n如有异议，请于 {appeal_day:%Y} 年{appeal_day:%m}月{appeal_day:%d}日 24 时前，联系{_appeal(contact)}申诉"
    return body


def sla_praise_text(provider: str) -> str:
    return f"【{provider}】上周无超时工单，请继续保持。👍"
