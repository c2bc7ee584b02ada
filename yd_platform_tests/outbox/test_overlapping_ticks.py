"""Two deliveries that overlap (a robot that takes its time makes a tick long) never send
one message twice, and a robot that hangs costs a tick one request timeout.

The two deliveries run at the same time from the same outbox, each through a connection
pool of its own. The robot answers a post only once the other delivery's post has arrived
as well, so each delivery is always in the middle of a send while the other claims its
next message, however the threads are scheduled. Their time budgets run on timers that
move one second each time they are read, not on the machine's clock, so how many messages
a tick sends does not depend on how loaded the machine is. On SQLite and on the real MariaDB.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from yd_platform.outbox.delivery import Delivery, DeliverySummary
from yd_platform.outbox.tables import messages
from yd_platform_tests.outbox.helpers import channel_configs, queue
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS
from yd_platform_tests.robots import WECOM_PATH

MESSAGES = 8
PER_TICK = 3  # messages one tick's time budget allows
LONGEST_TIMEOUT = 120.0  # the longest request timeout a channel may have

pytestmark = pytest.mark.parametrize("engine", ["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)],
                                     indirect=True)


def steps() -> Callable[[], float]:
    """A delivery's timer that moves one second each time it is read: once when the
    delivery starts and once before each message."""
    count = itertools.count()
    return lambda: float(next(count))


def tick(engine: sa.Engine, settings, clock, timeout: float, per_tick: int) -> Delivery:
    """A delivery of channel "wecom" whose budget lets it send `per_tick` messages: the n-th
    goes while n seconds plus the request timeout fit in the budget."""
    return Delivery(engine, {"wecom": channel_configs(timeout=timeout)["wecom"]}, settings, clock=clock,
                    timer=steps(), budget_seconds=timeout + per_tick)


def own_pool(engine: sa.Engine) -> sa.Engine:
    """Another engine on the same database, with a connection pool of its own (as a
    second process has)."""
    sqlite = engine.dialect.name == "sqlite"
    return sa.create_engine(engine.url, **({"connect_args": {"timeout": 30}} if sqlite else {}))


def posted_titles(robot) -> Counter:
    return Counter(p.text.removeprefix("body of ") for p in robot.delivered(WECOM_PATH))


def status_counts(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(messages.c.status)).scalars())


def run_together(ticks: list[Delivery]) -> list[DeliverySummary]:
    """Run the deliveries in threads of their own; their summaries, in the same order."""
    summaries: list[DeliverySummary | None] = [None] * len(ticks)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            summaries[i] = ticks[i].run()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"tick {i}") for i in range(len(ticks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(EVENT_DEADLINE_SECONDS)
        assert not thread.is_alive(), f"{thread.name} still delivering after {EVENT_DEADLINE_SECONDS:.0f}s"
    assert not errors, errors
    return summaries


def test_overlapping_ticks_send_each_message_once(engine, robot, settings, clock):
    engines = [engine, own_pool(engine)]
    titles = queue(engine, clock(), MESSAGES)
    # each post waits for the other tick's; the timeouts only end a test that would hang
    both_posting = threading.Barrier(2, timeout=LONGEST_TIMEOUT)
    robot.hold = lambda post: both_posting.wait()
    ticks = [tick(e, settings, clock, timeout=LONGEST_TIMEOUT, per_tick=PER_TICK) for e in engines]

    summaries = run_together(ticks)

    sent = posted_titles(robot)
    assert sum(sent.values()) == 2 * PER_TICK and max(sent.values()) == 1, sent
    assert [s.sent for s in summaries] == [PER_TICK, PER_TICK], [str(s) for s in summaries]
    # the ticks stopped on their budget and left the rest queued for a later one
    assert all(s.out_of_time for s in summaries), [str(s) for s in summaries]
    assert status_counts(engine) == Counter({"sent": 2 * PER_TICK, "queued": MESSAGES - 2 * PER_TICK})

    robot.hold = None
    for _ in range(MESSAGES):
        if not status_counts(engine)["queued"]:
            break
        ticks[0].run()
    assert posted_titles(robot) == Counter(titles)
    assert status_counts(engine) == Counter({"sent": MESSAGES})
    engines[1].dispose()


def test_hanging_robot_costs_one_timeout_per_tick(engine, robot, settings, clock):
    queue(engine, clock(), MESSAGES)
    tick_over = threading.Event()
    robot.hold = lambda post: tick_over.wait()  # no answer within the request timeout, however long it is
    try:
        summary = tick(engine, settings, clock, timeout=1.0, per_tick=MESSAGES).run()
    finally:
        tick_over.set()
    assert (summary.sent, summary.retried) == (0, 1), str(summary)
    # the robot is not asked again in this tick; every message stays queued for later
    assert len(robot.posts) == 1
    assert status_counts(engine) == Counter({"queued": MESSAGES})
