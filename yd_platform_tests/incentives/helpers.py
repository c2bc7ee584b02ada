"""The incentive tests' config, the incentive assets materialized in-process on a test
instance, and their notices read back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from yd_platform.incentives.assets import build_assets
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.service_assets import build_service_assets
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings
from yd_platform.outbox.tables import messages
from yd_platform.resources.app_db import AppDatabaseResource, engine_for
from yd_platform.resources.metabase import MetabaseResource
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform_tests.clock import Clock

REWARD_ASSETS = ("contracts", "rewards", "reward_notices")

# A small incentives.yaml: two cities, June rules for BJ, robots named by test variables
# (fixture `cfg` in the root conftest parses it).
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


def robots(urls: dict[str, str]) -> ChannelsResource:
    """The `incentive_robots` resource: variable -> the webhook URL it would hold."""
    return ChannelsResource(robots={variable: RobotSettings(url=url) for variable, url in urls.items()})


@dataclass(frozen=True)
class Runs:
    """Runs of the incentive assets against an app database, the object store under `home`,
    the robots resource and a clock the test moves (notices are queued and sent at its time)."""

    instance: dg.DagsterInstance
    home: Path
    db_url: str
    robots: ChannelsResource
    clock: Clock
    store: ObjectStoreResource | None = None

    def on(self, db_url: str) -> Runs:
        return replace(self, db_url=db_url)

    def with_store(self, store: ObjectStoreResource) -> Runs:
        """Runs whose object store is `store` (e.g. MinIO on the loopback S3 server)."""
        return replace(self, store=store)

    def object_store(self) -> ObjectStoreResource:
        return self.store or ObjectStoreResource(backend="local", root=str(Path(self.home) / "objects"))

    def shadowed(self) -> Runs:
        """Runs in shadow mode: the robots resource holds every notice."""
        return replace(self, robots=ChannelsResource(robots=self.robots.robots, shadow=True))

    def without_robots(self) -> Runs:
        """Runs whose robots are not set up (their variables unset)."""
        return replace(self, robots=ChannelsResource())

    def with_robots(self, urls: dict[str, str]) -> Runs:
        return replace(self, robots=robots({**{k: v.url for k, v in self.robots.robots.items()}, **urls}))

    def resources(self, metabase: MetabaseResource | None = None) -> dict:
        return {"object_store": self.object_store(),
                "app_db": AppDatabaseResource(url=self.db_url), "incentives_metabase": metabase or MetabaseResource(),
                "incentive_robots": self.robots}

    def run(self, cfg: IncentivesConfig, names: tuple[str, ...], partition: str | None = None,
            metabase: MetabaseResource | None = None) -> dg.ExecuteInProcessResult:
        assets = [a for a in build_assets(cfg, self.clock) + build_service_assets(cfg, self.clock)
                  if a.key.path[-1] in names]
        return dg.materialize(assets, partition_key=partition, instance=self.instance,
                              resources=self.resources(metabase), raise_on_error=False)


def notice_rows(db_url: str, kind_prefix: str = "") -> list[sa.Row]:
    """The notices in the outbox (dedupe key, kind, status, attempts, ...), by dedupe key."""
    with engine_for(db_url).connect() as conn:
        rows = conn.execute(sa.select(messages).order_by(messages.c.dedupe_key)).all()
    return [r for r in rows if r.kind.startswith(kind_prefix)]
