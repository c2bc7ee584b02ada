"""Rewards and their WeCom notices, materialized in-process: every award announced exactly
once across reruns, failed sends retried, the robot's key never shown."""

from __future__ import annotations

import pytest

from yd_platform.incentives import ledger
from yd_platform.incentives.demo import demo_contracts
from yd_platform.incentives.rules import compute_rewards
from yd_platform_tests.incentives.helpers import REWARD_ASSETS, ledger_rows, materialization, run

PARTITION = "BJ|2025-06"


def _expected_awards(cfg):
    return compute_rewards(demo_contracts("BJ", "2025-06"), cfg.rule_set("BJ", "2025-06"), "BJ", "2025-06")[1]


def _assert_exactly_once(cfg, robot, instance, yd_home, db_url):
    expected = _expected_awards(cfg)
    assert len(expected) >= 5
    first = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, db_url)
    assert first.success
    assert len(robot.messages) == len(expected)
    meta = materialization(first, "reward_notices")
    assert meta["notices_sent"] == len(expected) and meta["newly_recorded"] == len(expected)

    second = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, db_url)
    assert second.success
    assert len(robot.messages) == len(expected)
    assert materialization(second, "reward_notices")["newly_recorded"] == 0
    assert {r.status for r in ledger_rows(db_url, "reward")} == {ledger.SENT}
    assert sorted(r.notice_id for r in ledger_rows(db_url, "reward")) == sorted(a.award_id for a in expected)


def test_each_award_is_announced_exactly_once_across_runs(cfg, robot, instance, yd_home, sqlite_url):
    _assert_exactly_once(cfg, robot, instance, yd_home, sqlite_url)
    texts = robot.texts()
    assert all(t.startswith("🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 ") for t in texts)
    assert any("获得签约奖励 200 元" in t and "达标奖" in t for t in texts)
    assert any("👊 距离 " in t and " 还需 " in t for t in texts) or any("恭喜已经达成所有奖励" in t for t in texts)


@pytest.mark.slow
def test_exactly_once_on_mariadb(cfg, robot, instance, yd_home, mysql_url):
    _assert_exactly_once(cfg, robot, instance, yd_home, mysql_url)


def test_failed_send_is_kept_and_retried_on_the_next_run(cfg, robot, instance, yd_home, sqlite_url):
    expected = _expected_awards(cfg)
    robot.mode = "500"
    failed = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert not failed.success
    failure = [e for e in failed.all_events if e.is_step_failure][0]
    assert "not delivered" in failure.step_failure_data.error.message
    rows = ledger_rows(sqlite_url, "reward")
    assert len(rows) == len(expected)
    assert {(r.status, r.attempts) for r in rows} == {(ledger.PENDING, 1)}
    assert robot.messages == []

    robot.mode = "ok"
    retried = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert retried.success
    assert len(robot.messages) == len(expected)
    run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert len(robot.messages) == len(expected)


def test_attempts_are_bounded(cfg, robot, instance, yd_home, sqlite_url):
    robot.mode = "500"
    for _ in range(cfg.notices.max_attempts + 1):
        run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    rows = ledger_rows(sqlite_url, "reward")
    assert {(r.status, r.attempts) for r in rows} == {(ledger.FAILED, cfg.notices.max_attempts)}
    assert robot.refused == len(rows) * cfg.notices.max_attempts


def test_rate_limit_defers_the_rest_without_failing(cfg, robot, instance, yd_home, sqlite_url):
    robot.mode = "45009"
    result = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert result.success
    meta = materialization(result, "reward_notices")
    assert meta["rate_limited"] is True and meta["notices_sent"] == 0
    assert robot.refused == 1
    assert {(r.status, r.attempts) for r in ledger_rows(sqlite_url, "reward")} == {(ledger.PENDING, 0)}
    robot.mode = "ok"
    run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert len(robot.messages) == len(_expected_awards(cfg))


def test_unset_channel_records_skipped_and_never_floods_later(cfg, robot, instance, yd_home, sqlite_url,
                                                             monkeypatch):
    monkeypatch.delenv("YD_TEST_INCENTIVES_URL")
    result = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert result.success
    assert {r.status for r in ledger_rows(sqlite_url, "reward")} == {ledger.SKIPPED}
    monkeypatch.setenv("YD_TEST_INCENTIVES_URL", robot.url)
    run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert robot.messages == []


def test_webhook_key_never_appears_in_events(cfg, robot, instance, yd_home, sqlite_url):
    robot.mode = "500"
    result = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    logs = instance.all_logs(result.run_id)
    assert logs
    assert not any("test-secret-key" in str(entry) for entry in logs)
    assert any("key=***" in str(entry) for entry in logs)


def test_rewards_report_per_person_in_metadata(cfg, robot, instance, yd_home, sqlite_url):
    result = run(cfg, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    table = materialization(result, "rewards")["rewards_per_person"]
    assert table.startswith("| 人员 | 单数 | 累计签约(元) | 计入业绩(元) | 奖励 | 奖励金额(元) | 下一级 |")
    assert "马明超" in table
    notices = materialization(result, "reward_notices")["notices"]
    assert notices.count("| sent |") == len(_expected_awards(cfg))


def test_month_without_rules_awards_nothing(cfg, robot, instance, yd_home, sqlite_url):
    result = run(cfg, REWARD_ASSETS, "SH|2025-06", instance, yd_home, sqlite_url)
    assert result.success
    assert materialization(result, "rewards")["rules"] == "none for this city and month"
    assert robot.messages == []


def test_markdown_notices_go_out_as_markdown(cfg, robot, instance, yd_home, sqlite_url):
    markdown = cfg.model_copy(update={"notices": cfg.notices.model_copy(update={"msgtype": "markdown"})})
    result = run(markdown, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert result.success
    assert len(robot.messages) == len(_expected_awards(cfg))
    assert {m["msgtype"] for m in robot.messages} == {"markdown"}
    first = robot.messages[0]["markdown"]["content"]
    assert first.startswith("## 🧨 签约喜报 🧨\n恭喜 **")
    assert '<font color="warning">达成 ' in first and "累计计入业绩 **" in first
    run(markdown, REWARD_ASSETS, PARTITION, instance, yd_home, sqlite_url)
    assert len(robot.messages) == len(_expected_awards(cfg))
