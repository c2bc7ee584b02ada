"""Notice texts, worded as the old incentive system's messages that people know."""

from __future__ import annotations

from datetime import date, timedelta

from yd_platform.incentives.config import NoticeSettings, RuleSet
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


def award_line(award: Award) -> str:
    """The prize sentence; an elite housekeeper's names the base prize and the doubled one."""
    if award.elite:
        return (f"达成 {award.reward_name} 奖励条件，奖励金额 {format_yuan(award.base_reward)} 元，"
                f"同时触发“精英连击双倍奖励”，奖励金额🚀直升至 {format_yuan(award.reward)} 元！🧧🧧🧧")
    return f"达成{award.reward_name}奖励条件，获得签约奖励{format_yuan(award.reward)}元 🧧🧧🧧"


def conversion_text(rate: float | None) -> str:
    """The old notices' rate: whole percent, capped at 100%, "-" when unknown."""
    if rate is None or rate != rate or rate < 0:
        return "-"
    return "100%" if rate >= 1 else f"{int(rate * 100)}%"


def templated_text(award: Award, template: str, rules: RuleSet) -> str:
    elite = rules.elite
    badge = elite.badge if elite and award.housekeeper in elite.housekeepers else ""
    return template.format(
        housekeeper=f"{badge}{award.housekeeper}", name=award.housekeeper, contract_no=award.contract_no,
        platform_seq=award.platform_seq, person_count=award.person_count,
        person_amount=format_yuan(award.person_amount), counted_amount=format_yuan(award.counted_amount),
        conversion=conversion_text(award.conversion), award=award_line(award), next_step=_next_step(award.gap_text))


def render_notice(award: Award, rules: RuleSet | None, notices: NoticeSettings) -> str:
    """The campaign's own wording when it names a template, else the built-in text or markdown."""
    if notices.msgtype == "markdown":
        return reward_markdown(award, bool(rules and rules.contract_amount_cap))
    if rules and rules.template:
        return templated_text(award, notices.templates[rules.template], rules)
    return reward_text(award, bool(rules and rules.contract_amount_cap))


def _appeal(contact: str) -> str:
    return f"运营人员{contact}"


def _violation_lines(violations: list[dict]) -> str:
    return "\n".join(
        f"工单编号：{v['order_no']}\n建单时间：{v['created_at']}\n管家：{v['housekeeper']}\n"
        f"违规类型：{v['kind']}\n违规描述：{v['memo']}\n"
        for v in violations)


def _daily_appeal(contact: str) -> str:
    return f"\n说明：以上数据为服务商昨日工单超时统计，如有异议请于下周一十二点前联系{_appeal(contact)}申诉。"


def sla_daily_text(provider: str, day: date, violations: list[dict], contact: str, part: str = "") -> str:
    """`part` ("（1/2）") marks one of several messages when the violations do not fit one."""
    return (f"📢 超时情况通报{part}\n\n服务商：{provider}\n日期：{day.isoformat()}\n\n"
            + _violation_lines(violations) + _daily_appeal(contact))


def service_report_text(violations: list[dict], contact: str, part: str = "") -> str:
    """The daily service report to a provider's group: yesterday's violations, as the old report."""
    return f"📢 超时情况通报{part}\n\n" + _violation_lines(violations) + _daily_appeal(contact)


SERVICE_REPORT_PRAISE = "昨日无超时工单，请继续保持。👍"


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
