"""A data folder the incentive assets have really written: three campaign months through
contracts -> rewards -> reward_notices (one announced, one held back by the robot's rate
limit, one announced) and a few days of SLA violations."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from yd_platform.incentives.config import load_incentives_config
from yd_platform_tests.clock import Clock
from yd_platform_tests.incentives.helpers import REWARD_ASSETS, Runs, robots
from yd_platform_tests.robots import FakeRobot

SENT_PARTITIONS = ["BJ|2025-04", "BJ|2025-05"]
PENDING_PARTITION = "SH|2025-04"
DAYS = ["2025-04-01", "2025-04-02", "2025-04-03", "2025-04-05"]


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("dashboard_home")
    db_url = f"sqlite:///{home / 'app.db'}"
    cfg = load_incentives_config()
    cfg = cfg.model_copy(update={"notices": cfg.notices.model_copy(
        update={"url_env": "YD_TEST_DASHBOARD_ROBOT", "send_interval_seconds": 0})})
    with FakeRobot() as robot, dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as mp:
        mp.setenv("YD_HOME", str(home))
        runs = Runs(instance, home, db_url, robots({"YD_TEST_DASHBOARD_ROBOT": robot.webhook()}), Clock())
        for partition in SENT_PARTITIONS:
            assert runs.run(cfg, REWARD_ASSETS, partition).success
            runs.clock.advance(61)  # the robot's next minute
        robot.answer = (200, 45009)
        assert runs.run(cfg, REWARD_ASSETS, PENDING_PARTITION).success
        for day in DAYS:
            assert runs.run(cfg, ("sla_violations",), day).success
    return home, db_url
