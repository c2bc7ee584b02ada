"""The technician status check and the daily service report, materialized in-process: the old
wording, the old recipients (company and operations robots, each provider's group), once."""

from __future__ import annotations

import dagster as dg
import pytest

from yd_platform.incentives import ledger
from yd_platform.incentives.metabase import MetabaseResource
from yd_platform.incentives.service_assets import build_service_assets
from yd_platform_tests.incentives.helpers import ledger_rows, materialization, resources, run
from yd_platform_tests.incentives.servers import FakeMetabase, WeComRobot

STATUS_ROWS = [  # the card's old column order: id, time, name, company, (unused), change
    ["c1", "2025-05-06T09:30:12.345+08:00", "马明超", "甲装饰公司", "x", ["上线"]],
    ["c2", "2025-05-06T18:05:00.000+08:00", "李四", "乙建材公司", "x", ["下线"]],
]


@pytest.fixture
def ops_robot(monkeypatch):
    with WeComRobot() as server:
        monkeypatch.setenv("YD_TEST_OPS_URL", server.url)
        yield server


def _with_ops(cfg):
    return cfg.model_copy(update={"technician_status": cfg.technician_status.model_copy(
        update={"card": 31, "url_env": "YD_TEST_OPS_URL"})})


def _materialize(cfg, name, instance, home, db_url, metabase=None, partition=None):
    assets = [a for a in build_service_assets(cfg) if a.key.path[-1] == name]
    return dg.materialize(assets, instance=instance, partition_key=partition, raise_on_error=False,
                          resources=resources(home, db_url, metabase))


def test_technician_changes_go_to_the_company_and_operations_once(cfg, robot, ops_robot, instance, yd_home,
                                                                 sqlite_url):
    cfg = _with_ops(cfg)
    with FakeMetabase({31: STATUS_ROWS}) as mb:
        metabase = MetabaseResource(url=mb.base, api_key=FakeMetabase.API_KEY)
        first = _materialize(cfg, "technician_status", instance, yd_home, sqlite_url, metabase)
        assert first.success
        expected = ["您好，公司的管家：马明超，在2025-05-06 09:30 🟢 上线 了。",
                    "您好，公司的管家：李四，在2025-05-06 18:05 🔴 下线 了。"]
        assert robot.texts() == expected  # the companies' robot (the SLA default here)
        assert ops_robot.texts() == expected
        meta = materialization(first, "technician_status")
        assert meta["changes"] == 2 and meta["newly_recorded"] == 4 and meta["notices_sent"] == 4
        again = _materialize(cfg, "technician_status", instance, yd_home, sqlite_url, metabase)
        assert again.success and materialization(again, "technician_status")["notices_sent"] == 0
    assert len(robot.messages) == 2 and len(ops_robot.messages) == 2
    assert {r.status for r in ledger_rows(sqlite_url, "technician_status")} == {ledger.SENT}


def test_technician_card_with_a_short_row_names_the_row(cfg, robot, ops_robot, instance, yd_home, sqlite_url):
    with FakeMetabase({31: [["c1", "2025-05-06T09:30:00+08:00", "马明超"]]}) as mb:
        result = _materialize(_with_ops(cfg), "technician_status", instance, yd_home, sqlite_url,
                              MetabaseResource(url=mb.base, api_key=FakeMetabase.API_KEY))
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "card 31 (technician status), row 1: expected at least 6 columns, got 3" in failure.step_failure_data.error.message
    assert ops_robot.messages == []


def test_demo_technician_changes_without_metabase(cfg, robot, ops_robot, instance, yd_home, sqlite_url):
    result = _materialize(_with_ops(cfg), "technician_status", instance, yd_home, sqlite_url)
    assert result.success
    assert len(ops_robot.texts()) == 3
    assert all(t.startswith("您好，公司的管家：") and t.endswith(" 了。") for t in ops_robot.texts())


def test_daily_service_report_reports_violations_and_praises_the_rest(cfg, robot, instance, yd_home, sqlite_url):
    day = "2025-09-03"
    assert run(cfg, ("sla_violations",), day, instance, yd_home, sqlite_url).success
    violations = [r for r in ledger_rows(sqlite_url, "sla_daily")]
    robot.messages.clear()
    result = _materialize(cfg, "daily_service_report", instance, yd_home, sqlite_url, partition=day)
    assert result.success
    texts = robot.texts()
    reports = [t for t in texts if t.startswith("📢 超时情况通报\n\n工单编号：")]
    praise = [t for t in texts if t == "昨日无超时工单，请继续保持。👍"]
    meta = materialization(result, "daily_service_report")
    assert len(reports) == meta["reports"] == len(violations) > 0
    assert len(praise) == meta["praised"] == len(cfg.sla.providers) - len(reports)
    assert all(t.endswith("如有异议请于下周一十二点前联系运营人员王金申诉。") for t in reports)
    assert texts == reports + praise
    rerun = _materialize(cfg, "daily_service_report", instance, yd_home, sqlite_url, partition=day)
    assert rerun.success and len(robot.messages) == len(texts)


def test_daily_service_report_waits_for_the_days_violations(cfg, robot, instance, yd_home, sqlite_url):
    result = _materialize(cfg, "daily_service_report", instance, yd_home, sqlite_url, partition="2025-09-04")
    assert not result.success
    failure = [e for e in result.all_events if e.is_step_failure][0]
    assert "sla_violations of 2025-09-04 is not materialized yet" in failure.step_failure_data.error.message
