"""Two ticks that overlap (a slow robot makes one run long) never send one message twice.

Both ticks deliver from the same outbox at the same moment, through their own
connections, against a local robot that takes its time to answer; on SQLite and on
the real MariaDB.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from yd_platform.notify.config import ChannelConfig, NotifyConfig
from yd_platform.notify.notifier import Notifier
from yd_platform.notify.outbox import ensure_tables, enqueue, outbox

WECOM = "/cgi-bin/webhook/send"
MESSAGES = 8


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("mysql_url")


def config(timeout: float) -> NotifyConfig:
    return NotifyConfig(channels={"wecom": ChannelConfig(type="wecom", url_env="T_WECOM_URL",
                                                         timeout_seconds=timeout)},
                        default_channels=["wecom"], retry_base_seconds=30)


def queue_messages(engine: sa.Engine, now: float) -> list[str]:
    ensure_tables(engine)
    titles = [f"[ERROR] message {i}" for i in range(MESSAGES)]
    with engine.begin() as conn:
        for i, title in enumerate(titles):
            enqueue(conn, dedupe_key=f"test:{i}", channel="wecom", kind="alert", title=title,
                    body=f"body of {title}", now=now)
    return titles


def posted_titles(receiver) -> Counter:
    return Counter(p.body["markdown"]["content"].removeprefix("body of ") for p in receiver.delivered(WECOM))


def statuses(engine: sa.Engine) -> Counter:
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(outbox.c.status)).scalars())


def test_overlapping_ticks_send_each_message_once(db_url, receiver, channels_env, clock):
    engines = [sa.create_engine(db_url), sa.create_engine(db_url)]  # one connection pool per tick
    titles = queue_messages(engines[0], clock())
    receiver.delay = 0.5
    ticks = [Notifier(e, config(timeout=2.0), clock=clock, budget_seconds=3.0) for e in engines]
    start = threading.Barrier(2)
    summaries = []

    def tick(notifier):
        start.wait()
        summaries.append(notifier.deliver())

    threads = [threading.Thread(target=tick, args=(n,)) for n in ticks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    sent = posted_titles(receiver)
    assert sent and max(sent.values()) == 1, sent
    assert sum(s.sent for s in summaries) == sum(sent.values())
    # 8 answers of 0.5 s do not fit two ticks of 3 s with a 2 s request timeout each:
    # the ticks stopped on their budget and left the rest queued.
    assert all(s.out_of_time for s in summaries), [str(s) for s in summaries]
    assert statuses(engines[0])["queued"] == MESSAGES - sum(sent.values()) > 0

    receiver.delay = 0.0
    while statuses(engines[0])["queued"]:
        ticks[0].deliver()
    assert posted_titles(receiver) == Counter(titles)
    assert statuses(engines[0]) == Counter({"sent": MESSAGES})
    for engine in engines:
        engine.dispose()


def test_hanging_robot_costs_one_timeout_per_tick(db_url, receiver, channels_env, clock):
    engine = sa.create_engine(db_url)
    queue_messages(engine, clock())
    receiver.delay = 3.0  # longer than the request timeout
    summary = Notifier(engine, config(timeout=1.0), clock=clock, budget_seconds=20.0).deliver()
    assert (summary.sent, summary.retried) == (0, 1), str(summary)
    # the robot is not asked again in this tick; every message stays queued for later
    assert len(receiver.posts) == 1
    assert statuses(engine) == Counter({"queued": MESSAGES})
    engine.dispose()
