"""Rewards and their WeCom notices, materialized in-process: every award announced exactly
once across reruns, failed sends retried by later runs with the outbox's backoff and at most
`max_attempts` times, the robot's rate limit waited out, the robot's key never shown."""

from __future__ import annotations

import pytest

from yd_platform.incentives.demo import demo_contracts
from yd_platform.incentives.notices import award_notice_key
from yd_platform.incentives.rules import compute_rewards
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.incentives.helpers import REWARD_ASSETS, notice_rows

PARTITION = "BJ|2025-06"


def _expected_awards(cfg):
    return compute_rewards(demo_contracts("BJ", "2025-06"), cfg.rule_set("BJ", "2025-06"), "BJ", "2025-06")[1]


def _assert_exactly_once(cfg, robot, runs):
    expected = _expected_awards(cfg)
    assert len(expected) >= 5
    first = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert first.success
    assert len(robot.messages) == len(expected)
    meta = materialization(first, "reward_notices")
    assert meta["notices_sent"] == len(expected) and meta["newly_recorded"] == len(expected)

    runs.clock.advance(61)
    second = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert second.success
    assert len(robot.messages) == len(expected)
    assert materialization(second, "reward_notices")["newly_recorded"] == 0
    rows = notice_rows(runs.db_url, "reward")
    assert {r.status for r in rows} == {"sent"}
    assert sorted(r.dedupe_key for r in rows) == sorted(award_notice_key(a) for a in expected)
    assert {r.partition_key for r in rows} == {"2025-06|BJ"}


def test_each_award_is_announced_exactly_once_across_runs(cfg, robot, runs):
    _assert_exactly_once(cfg, robot, runs)
    texts = robot.texts()
    assert all(t.startswith("🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 ") for t in texts)
    assert any("获得签约奖励 200 元" in t and "达标奖" in t for t in texts)
    assert any("👊 距离 " in t and " 还需 " in t for t in texts) or any("恭喜已经达成所有奖励" in t for t in texts)


@pytest.mark.slow
def test_exactly_once_on_mariadb(cfg, robot, runs, mysql_url):
    _assert_exactly_once(cfg, robot, runs.on(mysql_url))


def test_award_notice_key_is_campaign_contract_and_prize(cfg):
    awards = _expected_awards(cfg)
    lucky = next(a for a in awards if a.reward_type == "幸运数字")
    assert award_notice_key(lucky) == f"reward|BJ|2025-06|lucky|{lucky.contract_id}|{lucky.reward_name}"
    tier = next(a for a in awards if a.reward_name == "达标奖")
    assert award_notice_key(tier) == f"reward|BJ|2025-06|tier|{tier.person}|节节高|达标奖"


def test_failed_send_is_kept_and_retried_by_a_later_run(cfg, robot, runs):
    expected = _expected_awards(cfg)
    robot.answer = 500
    failed = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert not failed.success
    failure = [e for e in failed.all_events if e.is_step_failure][0]
    assert "not delivered" in failure.step_failure_data.error.message
    rows = notice_rows(runs.db_url, "reward")
    assert len(rows) == len(expected) and {r.status for r in rows} == {"queued"}
    assert sorted(r.attempts for r in rows) == [0] * (len(rows) - 1) + [1]  # the robot is not asked again
    assert robot.messages == []

    robot.answer = 200
    runs.clock.advance(31)  # past the first backoff
    retried = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert retried.success
    assert len(robot.messages) == len(expected)
    runs.clock.advance(61)
    runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert len(robot.messages) == len(expected)


def test_attempts_are_bounded(cfg, robot, runs):
    robot.answer = 500
    for _ in range(cfg.notices.max_attempts + 2):
        runs.run(cfg, REWARD_ASSETS, PARTITION)
        runs.clock.advance(3600)
    first, *rest = sorted(notice_rows(runs.db_url, "reward"), key=lambda r: r.id)
    assert (first.status, first.attempts) == ("failed", cfg.notices.max_attempts)  # needs an operator
    assert [(r.status, r.attempts) for r in rest][:1] == [("queued", 2)]
    assert max(r.attempts for r in rest) <= cfg.notices.max_attempts
    assert robot.refused == cfg.notices.max_attempts + 2  # one try per run: the robot is not hammered


def test_rate_limit_defers_the_rest_without_failing(cfg, robot, runs):
    robot.answer = (200, 45009)
    result = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert result.success
    meta = materialization(result, "reward_notices")
    assert meta["rate_limited"] is True and meta["notices_sent"] == 0
    assert meta["notices_waiting"] == len(_expected_awards(cfg))
    assert robot.refused == 1
    assert {(r.status, r.attempts) for r in notice_rows(runs.db_url, "reward")} == {("queued", 0)}
    robot.answer = 200
    runs.clock.advance(30)
    runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert robot.messages == [] and robot.refused == 1  # the robot's minute is waited out
    runs.clock.advance(31)
    runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert len(robot.messages) == len(_expected_awards(cfg))


def test_robot_not_set_up_skips_and_never_floods_later(cfg, robot, runs):
    result = runs.without_robots().run(cfg, REWARD_ASSETS, PARTITION)
    assert result.success
    assert materialization(result, "reward_notices")["notices_skipped_no_channel"] == len(_expected_awards(cfg))
    assert {(r.status, r.last_error) for r in notice_rows(runs.db_url, "reward")} == {
        ("skipped", "YD_TEST_INCENTIVES_URL unset")}
    runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert robot.messages == []


def test_webhook_key_never_appears_in_events(cfg, robot, runs):
    robot.answer = 500
    result = runs.run(cfg, REWARD_ASSETS, PARTITION)
    logs = runs.instance.all_logs(result.run_id)
    assert logs
    assert not any("test-secret-key" in str(entry) for entry in logs)
    assert any("key=***" in str(entry) for entry in logs)


def test_rewards_report_per_person_in_metadata(cfg, robot, runs):
    result = runs.run(cfg, REWARD_ASSETS, PARTITION)
    table = materialization(result, "rewards")["rewards_per_person"]
    assert table.startswith("| 人员 | 单数 | 累计签约(元) | 计入业绩(元) | 奖励 | 奖励金额(元) | 下一级 |")
    assert "马明超" in table
    notices = materialization(result, "reward_notices")["notices"]
    assert notices.count("| sent |") == len(_expected_awards(cfg))


def test_month_without_rules_awards_nothing(cfg, robot, runs):
    result = runs.run(cfg, REWARD_ASSETS, "SH|2025-06")
    assert result.success
    assert materialization(result, "rewards")["rules"] == "none for this city and month"
    assert robot.messages == []


def test_markdown_notices_go_out_as_markdown(cfg, robot, runs):
    markdown = cfg.model_copy(update={"notices": cfg.notices.model_copy(update={"msgtype": "markdown"})})
    result = runs.run(markdown, REWARD_ASSETS, PARTITION)
    assert result.success
    assert len(robot.messages) == len(_expected_awards(cfg))
    assert {m["msgtype"] for m in robot.messages} == {"markdown"}
    first = robot.messages[0]["markdown"]["content"]
    assert first.startswith("## 🧨 签约喜报 🧨\n恭喜 **")
    assert '<font color="warning">达成 ' in first and "累计计入业绩 **" in first
    runs.clock.advance(61)
    runs.run(markdown, REWARD_ASSETS, PARTITION)
    assert len(robot.messages) == len(_expected_awards(cfg))
