"""Fixtures of the incentives tests: a small config, the robot and the app database."""

from __future__ import annotations

from pathlib import Path

import pytest

from yd_platform.incentives.config import IncentivesConfig, parse_incentives
from yd_platform_tests.incentives.servers import WeComRobot

TEST_CONFIG = """
timezone: Asia/Shanghai
start_month: "2025-05"
cities:
  BJ: {name: 北京, province: "110000", contracts_card: 11}
  SH: {name: 上海, province: "310000", contracts_card: 12}
rules:
  BJ:
    "2025-06":
      lucky:
        number: "8"
        base: {name: 接好运, reward: 36}
        high: {name: 接好运万元以上, reward: 66, threshold: 10000}
      contract_amount_cap: 50000
      tiers:
        - by: amount
          min_contracts: 3
          tiers:
            - {name: 达标奖, threshold: 40000, reward: 200}
            - {name: 优秀奖, threshold: 60000, reward: 400}
notices:
  url_env: YD_TEST_INCENTIVES_URL
  msgtype: text
  max_attempts: 3
  send_interval_seconds: 0
sla:
  start_date: "2025-09-01"
  violations_card: 21
  url_env: YD_TEST_SLA_URL
  appeal_contact: 王金
  providers:
    甲装饰公司: {}
    乙建材公司: {}
    丙防水公司: {}
"""


@pytest.fixture
def cfg() -> IncentivesConfig:
    return parse_incentives(TEST_CONFIG, source="test-incentives.yaml")


@pytest.fixture
def robot(monkeypatch):
    with WeComRobot() as server:
        monkeypatch.setenv("YD_TEST_INCENTIVES_URL", server.url)
        monkeypatch.setenv("YD_TEST_SLA_URL", server.url)
        yield server


@pytest.fixture
def sqlite_url(yd_home) -> str:
    return f"sqlite:///{Path(yd_home) / 'app.db'}"
