"""The technician status check and the daily service report, materialized in-process: the old
wording, the old recipients (company and operations robots, each provider's group), once."""

from __future__ import annotations

import pytest

from yd_platform.resources.metabase import MetabaseResource
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.incentives.helpers import notice_rows
from yd_platform_tests.incentives.metabase_server import FakeMetabase
from yd_platform_tests.robots import FakeRobot

STATUS_ROWS = [  # the card's old column order: id, time, name, company, (unused), change
    ["c1", "2025-05-06T09:30:12.345+08:00", "马明超", "甲装饰公司", "x", ["上线"]],
    ["c2", "2025-05-06T18:05:00.000+08:00", "李四", "乙建材公司", "x", ["下线"]],
]


@pytest.fixture
def ops_robot():
    with FakeRobot() as server:
        yield server


@pytest.fixture
def ops_runs(runs, ops_robot):
    """Runs whose operations robot (YD_TEST_OPS_URL) is a second fake robot."""
    return runs.with_robots({"YD_TEST_OPS_URL": ops_robot.webhook()})


def _with_ops(cfg):
    return cfg.model_copy(update={"technician_status": cfg.technician_status.model_copy(
        update={"card": 31, "url_env": "YD_TEST_OPS_URL"})})


def test_technician_changes_go_to_the_company_and_operations_once(cfg, robot, ops_robot, ops_runs):
    cfg = _with_ops(cfg)
    with FakeMetabase({31: STATUS_ROWS}) as mb:
        metabase = MetabaseResource(url=mb.base, api_key=FakeMetabase.API_KEY)
        first = ops_runs.run(cfg, ("technician_status",), metabase=metabase)
        assert first.success
        expected = ["您好，公司的管家：马明超，在2025-05-06 09:30 🟢 上线 了。",
                    "您好，公司的管家：李四，在2025-05-06 18:05 🔴 下线 了。"]
        assert robot.texts() == expected  # the companies' robot (the SLA default here)
        assert ops_robot.texts() == expected
        meta = materialization(first, "technician_status")
        assert meta["changes"] == 2 and meta["newly_recorded"] == 4 and meta["notices_sent"] == 4
        ops_runs.clock.advance(180)
        again = ops_runs.run(cfg, ("technician_status",), metabase=metabase)
        assert again.success and materialization(again, "technician_status")["notices_sent"] == 0
    assert len(robot.messages) == 2 and len(ops_robot.messages) == 2
    assert {r.status for r in notice_rows(ops_runs.db_url, "technician_status")} == {"sent"}


def test_technician_card_with_a_short_row_names_the_row(cfg, robot, ops_robot, ops_runs):
    with FakeMetabase({31: [["c1", "2025-05-06T09:30:00+08:00", "马明超"]]}) as mb:
        result = ops_runs.run(_with_ops(cfg), ("technician_status",),
                              metabase=MetabaseResource(url=mb.base, api_key=FakeMetabase.API_KEY))
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "card 31 (technician status), row 1: expected at least 6 columns, got 3" in failure.step_failure_data.error.message
    assert ops_robot.messages == []


def test_demo_technician_changes_without_metabase(cfg, robot, ops_robot, ops_runs):
    result = ops_runs.run(_with_ops(cfg), ("technician_status",))
    assert result.success
    assert len(ops_robot.texts()) == 3
    assert all(t.startswith("您好，公司的管家：") and t.endswith(" 了。") for t in ops_robot.texts())


def test_daily_service_report_reports_violations_and_praises_the_rest(cfg, robot, runs):
    day = "2025-09-03"
    assert runs.run(cfg, ("sla_violations",), day).success
    violations = notice_rows(runs.db_url, "sla_daily")
    robot.posts.clear()
    runs.clock.advance(2 * 3600)
    result = runs.run(cfg, ("daily_service_report",), day)
    assert result.success
    texts = robot.texts()
    reports = [t for t in texts if t.startswith("📢 超时情况通报\n\n工单编号：")]
    praise = [t for t in texts if t == "昨日无超时工单，请继续保持。👍"]
    meta = materialization(result, "daily_service_report")
    assert len(reports) == meta["reports"] == len(violations) > 0
    assert len(praise) == meta["praised"] == len(cfg.sla.providers) - len(reports)
    assert all(t.endswith("如有异议请于下周一十二点前联系运营人员王金申诉。") for t in reports)
    assert texts == reports + praise
    runs.clock.advance(61)
    rerun = runs.run(cfg, ("daily_service_report",), day)
    assert rerun.success and len(robot.messages) == len(texts)


def test_daily_service_report_waits_for_the_days_violations(cfg, robot, runs):
    result = runs.run(cfg, ("daily_service_report",), "2025-09-04")
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "sla_violations of 2025-09-04 is not materialized yet" in failure.step_failure_data.error.message
