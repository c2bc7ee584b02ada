"""SLA monitor: daily notices of new violations, the weekly report and praise, exactly once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from yd_platform.resources.metabase import MetabaseResource
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.incentives.helpers import notice_rows
from yd_platform_tests.incentives.metabase_server import FakeMetabase

WEEK = date(2025, 9, 22)  # a Monday
VIOLATIONS = {
    "2025-09-22": [
        {"_id": "V1", "orgName": "甲装饰公司", "orderNum": "GD001", "saCreateTime": "2025-09-22T09:38:53+08:00",
         "supervisorName": "马明超", "msg": "超时", "memo": "上门超时"},
        {"_id": "V2", "orgName": "甲装饰公司", "orderNum": "GD002", "saCreateTime": "2025-09-22T11:00:00+08:00",
         "supervisorName": "李四", "msg": "联络超时", "memo": "4小时内未联系"},
    ],
    "2025-09-24": [
        {"_id": "V3", "orgName": "乙建材公司", "orderNum": "GD003", "saCreateTime": "2025-09-24T10:00:00+08:00",
         "supervisorName": "王强", "msg": "超时", "memo": "报价超时"},
    ],
}


@pytest.fixture
def metabase():
    with FakeMetabase({21: lambda params: VIOLATIONS.get(params["date"], [])}) as server:
        yield server


def _resource(server) -> MetabaseResource:
    return MetabaseResource(url=server.base, api_key=FakeMetabase.API_KEY)


def _days():
    return [(WEEK + timedelta(days=i)).isoformat() for i in range(7)]


def test_daily_notice_per_provider_then_weekly_report_and_praise(cfg, robot, runs, metabase):
    for day in _days():
        result = runs.run(cfg, ("sla_violations",), day, _resource(metabase))
        assert result.success, day
    assert [c["parameters"][0]["value"] for c in metabase.calls] == _days()
    daily = robot.texts()
    assert len(daily) == 2
    assert daily[0] == (
        "📢 超时情况通报\n\n服务商：甲装饰公司\n日期：2025-09-22\n\n"
        "工单编号：GD001\n建单时间：2025-09-22T09:38:53+08:00\n管家：马明超\n违规类型：超时\n违规描述：上门超时\n\n"
        "工单编号：GD002\n建单时间：2025-09-22T11:00:00+08:00\n管家：李四\n违规类型：联络超时\n违规描述：4小时内未联系\n"
        "\n说明：以上数据为服务商昨日工单超时统计，如有异议请于下周一十二点前联系运营人员王金申诉。")
    assert "服务商：乙建材公司\n日期：2025-09-24" in daily[1]

    weekly = runs.run(cfg, ("sla_weekly_report",), WEEK.isoformat())
    assert weekly.success
    texts = robot.texts()[2:]
    assert len(texts) == 3
    reports = {t.split("服务商: ")[1].split("\n")[0]: t for t in texts if t.startswith("数据周期")}
    assert reports["甲装饰公司"] == ("数据周期: 2025.09.22-2025.09.28\n服务商: 甲装饰公司\n\n"
                        "- 工单编号：GD001 管家：马明超 违规类型：超时\n"
                        "- 工单编号：GD002 管家：李四 违规类型：联络超时\n"
                        "\n如有异议，请于 2025 年09月29日 24 时前，联系运营人员王金申诉")
    assert "- 工单编号：GD003 管家：王强 违规类型：超时" in reports["乙建材公司"]
    assert texts[2] == "【丙防水公司】上周无超时工单，请继续保持。👍"
    meta = materialization(weekly, "sla_weekly_report")
    assert meta["praised"] == 1 and meta["violations"] == 3
    assert "| 甲装饰公司 | 2 | 周报 |" in meta["per_provider"]
    assert "| 丙防水公司 | 0 | 表扬 |" in meta["per_provider"]

    again = runs.run(cfg, ("sla_weekly_report",), WEEK.isoformat())
    assert again.success and len(robot.messages) == 5
    assert {r.status for r in notice_rows(runs.db_url, "sla")} == {"sent"}


def test_a_repull_announces_only_new_violations(cfg, robot, runs, metabase):
    day = "2025-09-22"
    runs.run(cfg, ("sla_violations",), day, _resource(metabase))
    runs.run(cfg, ("sla_violations",), day, _resource(metabase))
    assert len(robot.messages) == 1
    VIOLATIONS[day].append({"_id": "V9", "orgName": "甲装饰公司", "orderNum": "GD009",
                            "saCreateTime": "2025-09-22T18:00:00+08:00", "supervisorName": "赵敏",
                            "msg": "超时", "memo": "完工超时"})
    try:
        result = runs.run(cfg, ("sla_violations",), day, _resource(metabase))
    finally:
        VIOLATIONS[day].pop()
    assert result.success
    assert len(robot.messages) == 2
    latest = robot.texts()[-1]
    assert "GD009" in latest and "GD001" not in latest


def test_weekly_report_refuses_a_week_not_fully_seen(cfg, robot, runs, metabase):
    for day in _days()[:6]:
        runs.run(cfg, ("sla_violations",), day, _resource(metabase))
    result = runs.run(cfg, ("sla_weekly_report",), WEEK.isoformat())
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "sla_violations is missing for 2025-09-28" in failure.step_failure_data.error.message
    assert notice_rows(runs.db_url, "sla_p") == []


def test_demo_source_is_deterministic(cfg, robot, runs):
    first = runs.run(cfg, ("sla_violations",), "2025-09-23")
    second = runs.run(cfg, ("sla_violations",), "2025-09-23")
    a, b = materialization(first, "sla_violations"), materialization(second, "sla_violations")
    assert a["source"] == "demo" and a["violations"] == b["violations"]
    assert a["per_provider"] == b["per_provider"]
    assert b["newly_recorded"] == 0


def _busy_day(day: str, count: int) -> list[dict]:
    return [{"_id": f"B{i:02d}", "orgName": "甲装饰公司", "orderNum": f"GD9{i:03d}",
             "saCreateTime": f"{day}T{8 + i // 6:02d}:{i % 6 * 10:02d}:00+08:00", "supervisorName": "马明超",
             "msg": "超时", "memo": "分单后4小时内未联系客户，客户多次催促仍未上门"} for i in range(count)]


def test_many_violations_are_split_to_fit_the_robot_limit(cfg, robot, runs):
    """The robot cuts text at 2048 bytes: a long list goes out as numbered messages, none cut."""
    busy = {"2025-09-22": _busy_day("2025-09-22", 30)}
    with FakeMetabase({21: lambda params: busy.get(params["date"], [])}) as server:
        for day in _days():
            assert runs.run(cfg, ("sla_violations",), day, _resource(server)).success
    daily = robot.texts()
    assert len(daily) > 1
    assert all(len(t.encode("utf-8")) <= 2048 for t in daily)
    assert [t.split("\n")[0] for t in daily] == [f"📢 超时情况通报（{i}/{len(daily)}）" for i in range(1, len(daily) + 1)]
    announced = [line for t in daily for line in t.splitlines() if line.startswith("工单编号：")]
    assert announced == [f"工单编号：GD9{i:03d}" for i in range(30)]
    assert all(t.endswith("联系运营人员王金申诉。") for t in daily)

    assert runs.run(cfg, ("sla_weekly_report",), WEEK.isoformat()).success
    weekly = [t for t in robot.texts()[len(daily):] if t.startswith("数据周期")]
    assert len(weekly) > 1 and all(len(t.encode("utf-8")) <= 2048 for t in weekly)
    assert weekly[0].startswith(f"数据周期: 2025.09.22-2025.09.28（1/{len(weekly)}）\n服务商: 甲装饰公司\n")
    reported = [line for t in weekly for line in t.splitlines() if line.startswith("- 工单编号：")]
    assert [line.split()[1] for line in reported] == [f"工单编号：GD9{i:03d}" for i in range(30)]

    again = runs.run(cfg, ("sla_weekly_report",), WEEK.isoformat())
    assert again.success and len(robot.messages) == len(daily) + len(weekly) + 2  # + praise for 乙, 丙


def test_a_failed_daily_notice_is_retried_by_the_next_day(cfg, robot, runs, metabase):
    robot.answer = 500
    failed = runs.run(cfg, ("sla_violations",), "2025-09-22", _resource(metabase))
    assert not failed.success
    assert [(r.status, r.attempts) for r in notice_rows(runs.db_url, "sla")] == [("queued", 1)]

    robot.answer = 200
    runs.clock.advance(24 * 3600)  # the next day's run
    quiet = runs.run(cfg, ("sla_violations",), "2025-09-23", _resource(metabase))
    assert quiet.success
    assert materialization(quiet, "sla_violations")["notices_sent"] == 1
    assert "日期：2025-09-22" in robot.texts()[0]
    assert {r.status for r in notice_rows(runs.db_url, "sla")} == {"sent"}
    runs.run(cfg, ("sla_violations",), "2025-09-23", _resource(metabase))
    assert len(robot.messages) == 1
