"""Freshness: which partition is due when, and the sensor's runless report."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from yd_platform.checks.freshness import due_partition, report_freshness
from yd_platform.datasets.keys import ods_key

SH = ZoneInfo("Asia/Shanghai")


def test_due_partition_follows_offset_and_deadline(catalog):
    badscore = catalog.dataset("pdd", "badscore")  # T-1 by 10:00
    assert due_partition(badscore, datetime(2025, 10, 2, 10, 0, tzinfo=SH)).period.key == "2025-10-01"
    assert due_partition(badscore, datetime(2025, 10, 2, 9, 59, tzinfo=SH)).period.key == "2025-09-30"
    kpi = catalog.dataset("pdd", "kpi_days")  # T-3 by 12:30
    assert due_partition(kpi, datetime(2025, 10, 5, 13, 0, tzinfo=SH)).period.key == "2025-10-02"


def test_dataset_without_configured_deadline_is_due_after_the_default_grace(catalog):
    chat = catalog.dataset("pdd", "chat")  # daily T-1, tick 09:00, no deadline configured: due 10:30
    assert due_partition(chat, datetime(2025, 10, 5, 10, 29, tzinfo=SH)).period.key == "2025-10-03"
    due = due_partition(chat, datetime(2025, 10, 5, 10, 30, tzinfo=SH))
    assert due.period.key == "2025-10-04" and due.deadline == datetime(2025, 10, 5, 10, 30, tzinfo=SH)
    weekly = catalog.dataset("pdd", "kpi_weekly")  # Saturday 12:00 tick, window T-9..T-3
    assert due_partition(weekly, datetime(2025, 10, 4, 13, 29, tzinfo=SH)).period.key == "2025-09-18"
    assert due_partition(weekly, datetime(2025, 10, 4, 13, 30, tzinfo=SH)).period.key == "2025-09-25"
    monthly = catalog.dataset("tm", "kpi_monthly")  # the 3rd at 12:30, last month
    assert due_partition(monthly, datetime(2025, 10, 3, 14, 0, tzinfo=SH)).period.key == "2025-09"


def test_every_dataset_has_a_freshness_check(catalog):
    from yd_platform.definitions import build_definitions

    keys = build_definitions(catalog).resolve_asset_graph().asset_check_keys
    for ds in catalog.datasets():
        assert dg.AssetCheckKey(ods_key(ds), "freshness") in keys, ds.slug


def test_sensor_reports_missing_then_present(instance, catalog):
    ds = catalog.dataset("pdd", "badscore")
    now = datetime(2025, 10, 2, 10, 30, tzinfo=SH)
    state = report_freshness(instance, catalog, now, {})
    assert state[ds.slug] == "2025-10-01:missing"
    key = dg.AssetCheckKey(ods_key(ds), "freshness")
    [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.metadata["partition"].value == "2025-10-01"

    assert report_freshness(instance, catalog, now, state) == state  # unchanged: nothing reported
    assert len(instance.event_log_storage.get_asset_check_execution_history(key, limit=5)) == 1

    instance.report_runless_asset_event(dg.AssetMaterialization(ods_key(ds), partition="2025-10-01"))
    state = report_freshness(instance, catalog, now, state)
    assert state[ds.slug] == "2025-10-01:ok"
    latest = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)[0]
    assert latest.event.dagster_event.event_specific_data.passed
