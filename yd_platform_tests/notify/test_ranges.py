"""A run over a range of partitions (a backfill) is alerted, recovered and escalated per
partition; a backlog longer than one history page is not lost; long dedupe keys fit."""

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.definitions import build_definitions
from yd_platform.notify.notifier import HISTORY_PER_CHECK, Notifier
from yd_platform.notify.outbox import enqueue, ensure_tables, outbox
from yd_platform.pipeline.assets import merged_key
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.core import shop_source_from_env
from yd_platform_tests.checks.helpers import put_raw, reviews
from yd_platform_tests.notify.conftest import make_config

WECOM = "/cgi-bin/webhook/send"
DING = "/robot/send"
SHOPS = ("pdd_flagship", "pdd_outlet", "pdd_kids")
RANGE = {"dagster/asset_partition_range_start": "2025-10-01", "dagster/asset_partition_range_end": "2025-10-03"}


@pytest.fixture
def engine(tmp_path):
    return engine_for(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.slow
def test_backfill_range_is_tracked_per_partition(yd_home, instance, catalog, engine, clock, receiver,
                                                 channels_env):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    for day in ("2025-10-01", "2025-10-02", "2025-10-03"):
        for shop in SHOPS:
            if not (shop == "pdd_kids" and day != "2025-10-01"):
                put_raw(ds, day, shop, reviews(f"{shop}{day}", 3))
    job = defs.resolve_job_def("pdd__badscore__publish")
    assert job.execute_in_process(instance=instance, tags=RANGE, raise_on_error=False).success
    keys = [dg.AssetCheckKey(merged_key(ds), "shops_present")]
    notifier = Notifier(engine, make_config(escalate_after_minutes=120), clock=clock)

    notifier.tick(instance, keys)
    [alert] = [p.body["markdown"]["content"] for p in receiver.delivered(WECOM)]
    assert "partition: 2025-10-02, 2025-10-03" in alert and "failing: 2 over 2 partitions" in alert
    assert "2025-10-02: missing shops: pdd_kids" in alert

    # the shop's file for one day arrives and that day is rerun on its own
    put_raw(ds, "2025-10-02", "pdd_kids", reviews("late", 2))
    assert job.execute_in_process(partition_key="2025-10-02", instance=instance, raise_on_error=False).success
    clock.advance(60)
    notifier.tick(instance, keys)
    recovered = receiver.delivered(WECOM)[-1].body["markdown"]["content"]
    assert "recovered" in recovered and "partition: 2025-10-02" in recovered and "2025-10-03" not in recovered

    clock.advance(120 * 60)
    notifier.tick(instance, keys)
    [escalation] = [p.body["markdown"]["text"] for p in receiver.delivered(DING)]
    assert "shops_present 2025-10-03" in escalation and "2025-10-02" not in escalation
    assert len(receiver.delivered(WECOM)) == 2


@pytest.mark.slow
def test_backlog_longer_than_a_history_page_is_all_alerted(instance, engine, clock, receiver, channels_env):
    asset = dg.AssetKey(["pdd", "badscore", "merged"])
    days = [f"2025-09-{d:02d}" for d in range(1, HISTORY_PER_CHECK + 6)]
    for day in days:
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=asset, check_name="volume_normal", passed=False, severity=dg.AssetCheckSeverity.WARN,
            description="0 rows vs 40.0 average", metadata={"failing_count": 40, "partition": day}))
    notifier = Notifier(engine, make_config(), clock=clock)
    assert notifier.scan(instance, [dg.AssetCheckKey(asset, "volume_normal")]) == len(days)
    assert notifier.scan(instance, [dg.AssetCheckKey(asset, "volume_normal")]) == 0


def test_long_dedupe_keys_fit_and_still_dedupe(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'app.db'}")
    ensure_tables(engine)
    key = "escalate:" + "pdd/badscore/merged:shops_present:" * 10
    with engine.begin() as conn:
        assert enqueue(conn, dedupe_key=key, channel="c", kind="alert", title="t", body="b", now=1.0)
        assert not enqueue(conn, dedupe_key=key, channel="c", kind="alert", title="t", body="b", now=2.0)
        assert enqueue(conn, dedupe_key=key + "x", channel="c", kind="alert", title="t", body="b", now=3.0)
        stored = conn.execute(sa.select(outbox.c.dedupe_key)).scalars().all()
    assert len(stored) == 2 and all(len(k) <= 255 for k in stored)
