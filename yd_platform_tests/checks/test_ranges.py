"""A publish run over a range of dates records each date's own check results."""

import dagster as dg

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.definitions import build_definitions
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.object_files import put_raw, reviews

SHOPS = ("pdd_flagship", "pdd_outlet", "pdd_kids")
DAYS = ("2025-10-01", "2025-10-02", "2025-10-03")


def _publish_range(defs, instance, first, last):
    job = defs.resolve_job_def("pdd__badscore__publish")
    return job.execute_in_process(instance=instance, raise_on_error=False, tags={
        "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})


def _latest(instance, asset, check, partition):
    [record] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(asset, check), limit=1, partition_filter=_key_filter(partition))
    return record


def _key_filter(partition):
    from dagster._core.storage.event_log.base import PartitionKeyFilter

    return PartitionKeyFilter(key=partition)


def test_range_run_records_every_date_and_blocks_on_the_failed_one(yd_home, embedded_store, instance, catalog):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    for day in DAYS:
        for shop in SHOPS:
            rows = reviews(shop, 3)
            if day == "2025-10-02" and shop == "pdd_kids":
                rows += reviews(shop, 1, score=1)  # a duplicate review id
            put_raw(embedded_store, ds, day, shop, rows)

    result = _publish_range(defs, instance, DAYS[0], DAYS[-1])
    assert not result.success  # the blocking failure of 10-02 stops ods in this run

    evaluations = [e for e in result.get_asset_check_evaluations() if e.asset_key == merged_key(ds)]
    by_check = {}
    for e in evaluations:
        by_check.setdefault(e.check_name, {})[e.partition] = e.passed
    assert by_check["keys_unique"] == {"2025-10-01": True, "2025-10-02": False, "2025-10-03": True}
    assert by_check["rows_nonzero"] == dict.fromkeys(DAYS, True)
    assert set(by_check) == {"rows_nonzero", "shops_present", "schema_matches", "keys_unique", "volume_normal"}

    # What the instance keeps (and the Checks tab shows): one result per date, none skipped
    for day in DAYS:
        record = _latest(instance, merged_key(ds), "keys_unique", day)
        expected = "FAILED" if day == "2025-10-02" else "SUCCEEDED"
        assert record.status.value == expected, (day, record.status)
    assert _latest(instance, merged_key(ds), "keys_unique", "2025-10-02").event.dagster_event \
        .event_specific_data.metadata["failing_count"].value == 1
    assert instance.get_materialized_partitions(merged_key(ds)) == set(DAYS)
    assert instance.get_materialized_partitions(ods_key(ds)) == set()
