"""Incentive notices through the platform outbox: what they are, where they go, once.

Every notice (an award, an SLA daily or weekly report, praise, a technician's status, the
daily service report) is one outbox message to a WeCom robot, queued by the asset that
computes it and sent by the same run. Its identity, the outbox's dedupe key, is fixed by
what it announces (see `award_notice_key` and the `*_key` builders of `sla`,
`service_report` and `technicians`), so reruns, backfills and overlapping runs queue
nothing twice and a notice is sent exactly once. What was announced and what still waits
is read back per kind and partition (asset metadata, the dashboard).

Robots are outbox channels named by the variable holding their webhook URL
(`notices.url_env`, `sla.url_env` or a provider's own, `technician_status.url_env`); their
settings are the `incentive_robots` resource. A notice whose robot is not set up is
skipped: never sent, so setting the robot up later does not flood its group with old
notices. A failed send is retried by later runs with the outbox's backoff, at most
`max_attempts` times; a send interrupted by a crash is reported as unconfirmed and not
sent again (announcing twice is worse than asking an operator). In shadow mode the
robots resource holds every notice instead of sending it (`outbox.shadow`).

Award notices the old incentive system sent enter the outbox as sent under these same
keys (`yd_platform.cutover.notices_import`), so the platform never announces them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import dagster as dg
import sqlalchemy as sa

from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.rules import Award
from yd_platform.outbox import status
from yd_platform.outbox.channel_config import robot_channel
from yd_platform.outbox.channel_resources import ChannelsResource, robots_from_env
from yd_platform.outbox.delivery import Delivery, DeliverySummary, Scope
from yd_platform.outbox.enqueue import Message, enqueue_all, stored_key
from yd_platform.outbox.retry import RetryPolicy
from yd_platform.outbox.tables import QUEUED, ensure_tables

ROBOTS = "incentive_robots"
REWARD = "reward"


def award_notice_key(award: Award) -> str:
    """The identity of an award's notice, a function of campaign, contract and prize only:

    - a lucky-number prize (won by one contract):
      ``reward|<city>|<month>|lucky|<contract_id>|<prize name>``
    - a tier prize (won once per person and campaign, by whichever contract reaches it, so
      a recomputation that moves it to another contract does not announce it again):
      ``reward|<city>|<month>|tier|<person>|<ladder reward_type>|<tier name>``

    This is `Award.award_id`. Notices already announced elsewhere enter the outbox under
    these keys as sent (`yd-platform incentives import-notices`); the outbox then never
    sends them.
    """
    return award.award_id


def notice(key: str, kind: str, partition_key: str, robot: str, body: str, msgtype: str = "text") -> Message:
    """One notice to the robot whose webhook is in `robot` (its first line as title)."""
    title = next((line.strip() for line in body.splitlines() if line.strip()), kind)
    return Message(dedupe_key=key, channel=robot, kind=kind, title=title, body=body, msgtype=msgtype,
                   partition_key=partition_key)


def robots_resource(cfg: IncentivesConfig) -> ChannelsResource:
    """Every robot the incentives config names, from the environment."""
    return robots_from_env(cfg.robot_variables())


def record(engine: sa.Engine, items: Iterable[Message], now: float) -> int:
    """Queue notices not queued before, in their order; returns how many were new."""
    ensure_tables(engine)
    with engine.begin() as conn:
        return enqueue_all(conn, items, now)


def deliver(engine: sa.Engine, robots: ChannelsResource, cfg: IncentivesConfig, kinds: list[str],
            partition_key: str | None = None, *, max_attempts: int,
            clock: Callable[[], float] = time.time) -> DeliverySummary:
    """Send the due notices of `kinds` (of one partition, or of all: earlier days' failed
    sends too), oldest first, `notices.send_interval_seconds` apart."""
    channels = {v: robot_channel(v) for v in cfg.robot_variables()}
    retry = RetryPolicy(max_attempts=max_attempts, resend_unconfirmed=False)
    delivery = Delivery(engine, channels, robots, retry=retry, clock=clock, budget_seconds=None,
                        interval_seconds=cfg.notices.send_interval_seconds, unset="skip")
    return delivery.run(Scope(tuple(kinds), partition_key))


def statuses(engine: sa.Engine, kinds: list[str], partition_key: str | None = None) -> dict[str, str]:
    """Status by dedupe key (as stored: look up with `stored_key`)."""
    return status.statuses(engine, kinds, partition_key)


def waiting(engine: sa.Engine, kinds: list[str], partition_key: str | None = None) -> int:
    """Notices of these kinds still queued (retry later, rate limited, robot budget used up)."""
    return status.counts(engine, kinds, partition_key)[QUEUED]


def reward_notices(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    """(dedupe key, month, city, status) of every award notice: what each campaign month announced."""
    return [(key, *partition.split("|", 1), state) for key, partition, state in status.of_kind(engine, REWARD)
            if partition and "|" in partition]


def key_of(award: Award) -> str:
    """The stored form of an award's notice key."""
    return stored_key(award_notice_key(award))


def delivery_result(context: dg.AssetExecutionContext, delivery: DeliverySummary, metadata: dict,
                    waiting_now: int) -> dg.MaterializeResult:
    """The run's outcome: failed sends fail the run (the outbox keeps them for the retry)."""
    metadata = {**metadata, "shadow_mode": delivery.shadow, "notices_held": delivery.held,
                "notices_sent": delivery.sent, "notices_retry_later": delivery.retried,
                "notices_failed": delivery.failed, "notices_skipped_no_channel": delivery.skipped,
                "notices_unconfirmed": len(delivery.unconfirmed), "notices_waiting": waiting_now,
                "rate_limited": delivery.rate_limited, "send_errors": "\n".join(delivery.errors) or "none"}
    if delivery.shadow:
        context.log.warning(f"shadow mode: {delivery.held} notice(s) held, none sent")
    if delivery.rate_limited:
        context.log.warning(f"robot rate limited; {waiting_now} notice(s) wait for the next run")
    if delivery.failed or (delivery.retried and not delivery.rate_limited):
        raise dg.Failure(
            description=(f"{delivery.failed + delivery.retried} notice(s) not delivered; they stay in the "
                         "outbox and are retried by the next runs (failed ones after max_attempts need an "
                         "operator)"),
            metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)
