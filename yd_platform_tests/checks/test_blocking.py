"""Generated checks in the real publish job: blocking failures stop `ods` for the period."""

from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.definitions import build_definitions
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.object_files import put_raw, reviews


def _publish(defs, instance, key):
    job = defs.resolve_job_def("pdd__badscore__publish")
    return job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)


def _evaluations(result):
    return {(e.asset_key.path[-1].rsplit("_", 1)[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def test_clean_partition_passes_and_publishes(yd_home, embedded_store, instance, catalog):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    for shop in ("pdd_flagship", "pdd_outlet", "pdd_kids"):
        put_raw(embedded_store, ds, "2025-10-01", shop, reviews(shop, 3))
    result = _publish(defs, instance, "2025-10-01")
    assert result.success
    evals = _evaluations(result)
    for check in ("rows_nonzero", "shops_present", "schema_matches", "keys_unique", "volume_normal"):
        assert evals[("merged", check)].passed, (check, evals[("merged", check)].description)
        assert evals[("ods", check)].passed
        assert evals[("merged", check)].partition == "2025-10-01"
    assert "2025-10-01" in instance.get_materialized_partitions(ods_key(ds))


def test_duplicate_keys_block_ods(yd_home, embedded_store, instance, catalog):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    put_raw(embedded_store, ds, "2025-10-02", "pdd_flagship", reviews("a", 3) + reviews("a", 1, score=1))
    put_raw(embedded_store, ds, "2025-10-02", "pdd_outlet", reviews("b", 2))
    result = _publish(defs, instance, "2025-10-02")
    assert not result.success
    evals = _evaluations(result)
    dup = evals[("merged", "keys_unique")]
    assert not dup.passed and dup.blocking
    assert dup.metadata["failing_count"].value == 1
    assert "pdd_flagship/oa0" in dup.metadata["sample"].value
    missing = evals[("merged", "shops_present")]
    assert not missing.passed and "pdd_kids" in missing.description
    assert instance.get_materialized_partitions(merged_key(ds)) == {"2025-10-02"}
    assert "2025-10-02" not in instance.get_materialized_partitions(ods_key(ds))
    assert not any(k[0] == "ods" for k in evals)


def test_zero_rows_block_ods(yd_home, embedded_store, instance, catalog):
    defs = build_definitions(catalog)
    ds = catalog.dataset("pdd", "badscore")
    put_raw(embedded_store, ds, "2025-10-03", "pdd_flagship", [])
    result = _publish(defs, instance, "2025-10-03")
    evals = _evaluations(result)
    assert not evals[("merged", "rows_nonzero")].passed
    assert "2025-10-03" not in instance.get_materialized_partitions(ods_key(ds))
