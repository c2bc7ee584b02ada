"""The feature source: Spark aggregates the ODS per user, read in place from the local
store or staged from MinIO, with the schema tags.yaml and the catalog give."""

from datetime import date, datetime

import pytest

from yd_platform.tags.config import load_tags_config
from yd_platform.tags.features.config import feature_schema
from yd_platform.tags.rules.compile import schema_kinds
from yd_platform_tests.tags.ods_data import write_chat_ods


def _features(spark, store, catalog, today):
    from yd_platform.tags.features.source import build_feature_source

    cfg = load_tags_config(catalog=catalog)
    frame, files = build_feature_source(spark, cfg.source, catalog, store, today, None)
    return frame, files


# the dw feature tables have no partitions in these tests
NO_DW_FILES = {"dw/user_basic_info": 0, "dw/user_asset_summary": 0, "dw/user_activity_summary": 0}


def _by_user(frame):
    return {r["user_id"]: r.asDict() for r in frame.collect()}


@pytest.mark.slow
def test_local_store_read_in_place(yd_home, catalog, spark):
    from yd_platform.resources.object_store import object_store_from_env

    store = object_store_from_env().client()
    write_chat_ods(store, catalog)
    frame, files = _features(spark, store, catalog, date(2025, 10, 2))
    assert files == {**NO_DW_FILES, "pdd/chat": 1, "tm/chat": 1}
    assert schema_kinds(frame) == feature_schema(load_tags_config(catalog=catalog).source, catalog)
    users = _by_user(frame)
    assert sorted(users) == ["b1", "b2", "b3"]
    assert (users["b1"]["chat_sessions"], users["b1"]["chat_messages"]) == (3, 18)
    assert users["b1"]["last_chat_at"] == datetime(2025, 10, 2, 11, 0)
    assert users["b1"]["pdd_chat_agents"] == ["agent_a", "agent_b"]
    assert users["b2"]["tm_chat_sessions"] is None and users["b2"]["chat_sessions"] == 1

    # the window ends at `today`: the tm partition of 10-02 is not read on 10-01
    frame, files = _features(spark, store, catalog, date(2025, 10, 1))
    assert files == {**NO_DW_FILES, "pdd/chat": 1, "tm/chat": 0}
    assert sorted(_by_user(frame)) == ["b1", "b2"]
    assert schema_kinds(frame)["tm_last_chat_at"] == "date"


@pytest.mark.slow
def test_minio_partitions_are_staged(minio_store, catalog, spark, tmp_path):
    from yd_platform.tags.features.source import build_feature_source

    store = minio_store.client()
    write_chat_ods(store, catalog)
    cfg = load_tags_config(catalog=catalog)
    with pytest.raises(ValueError, match="staging_dir"):
        build_feature_source(spark, cfg.source, catalog, store, date(2025, 10, 2), None)
    frame, files = build_feature_source(spark, cfg.source, catalog, store, date(2025, 10, 2), tmp_path / "stage")
    assert files == {**NO_DW_FILES, "pdd/chat": 1, "tm/chat": 1}
    assert _by_user(frame)["b3"]["chat_messages"] == 20


def test_window_takes_weekly_and_monthly_folders_by_their_first_day(tmp_path, catalog):
    from yd_platform.resources.object_store import LocalObjectStore
    from yd_platform.tags.features.source import newest_partition, partition_objects

    store = LocalObjectStore(tmp_path)
    weekly, monthly = catalog.dataset("pdd", "kpi_weekly"), catalog.dataset("pdd", "kpi_monthly")
    for folder in ("dt=2025-09-18_2025-09-24", "dt=2025-09-25_2025-10-01", "dt=2025-10-02_2025-10-08",
                   "dt=2025-09-26_2025-10-02", "week=2025-09-25"):  # the last two are no partitions
        store.put_bytes(f"ods/pdd/pdd_kpi_weekly/{folder}/part-00000.parquet", b"x")
    for folder in ("dt=2025-08-01_2025-08-31", "dt=2025-09-01_2025-09-30", "month=2025-09"):
        store.put_bytes(f"ods/pdd/pdd_kpi_monthly/{folder}/part-00000.parquet", b"x")

    week_keys = partition_objects(store, weekly, date(2025, 9, 20), date(2025, 10, 2))
    assert week_keys == ["ods/pdd/pdd_kpi_weekly/dt=2025-09-25_2025-10-01/part-00000.parquet",
                         "ods/pdd/pdd_kpi_weekly/dt=2025-10-02_2025-10-08/part-00000.parquet"]
    assert newest_partition(weekly, week_keys) == week_keys[1:]
    assert partition_objects(store, monthly, date(2025, 8, 15), date(2025, 9, 30)) == [
        "ods/pdd/pdd_kpi_monthly/dt=2025-09-01_2025-09-30/part-00000.parquet"]
