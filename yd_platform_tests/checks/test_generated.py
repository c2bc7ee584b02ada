"""The generated checks: severity and blocking per check, volume against the trailing
partitions, and an alert rule recording its failing rows in a real publish run."""

import dagster as dg

from yd_platform.checks.data import partition_row_count
from yd_platform.checks.dataset_checks import DATA_CHECKS, build_data_checks, evaluate_partition
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.definitions import build_definitions
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.object_files import put_raw, review_rows, reviews, xlsx

EXPECTED = {"rows_nonzero": (True, "ERROR"), "shops_present": (False, "ERROR"), "schema_matches": (False, "ERROR"),
            "keys_unique": (True, "ERROR"), "volume_normal": (False, "WARN")}


def test_severity_and_blocking_of_each_generated_check(catalog):
    ds = catalog.dataset("pdd", "badscore")
    for stage in ("merged", "ods"):
        specs = {s.name: s for s in build_data_checks(catalog, ds, stage).check_specs}
        assert {n: (s.blocking, s.metadata["severity"]) for n, s in specs.items()} == EXPECTED
    keys = build_definitions(catalog).resolve_asset_graph().asset_check_keys
    for ds in catalog.datasets():
        for asset in (merged_key(ds), ods_key(ds)):
            assert {dg.AssetCheckKey(asset, n) for n in DATA_CHECKS} <= keys, asset


def test_volume_compares_with_the_trailing_seven_partitions(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    resource = ObjectStoreResource(backend="local", root=str(tmp_path))
    store, arrow_fs = resource.client(), resource.arrow_filesystem()
    # 09-30 lies outside the seven partitions before 10-08; 10-04 never arrived
    days = {"2025-09-30": 100, **{f"2025-10-0{d}": 10 for d in (1, 2, 3, 5, 6, 7)}, "2025-10-08": 4}
    for day, rows in days.items():
        put_raw(store, ds, day, "shop_a", xlsx(review_rows(day, rows)))
        merge_partition(store, ds, day)


    def row_count(key):
        return partition_row_count(store, arrow_fs, ds, "merged", key)

    outcome = evaluate_partition(store, ds, "merged", "2025-10-08", ["shop_a"], row_count)["volume_normal"]
    assert not outcome.passed and outcome.failing_count == 6
    assert outcome.metadata["baseline_rows"] == 10 and outcome.metadata["compared_partitions"] == 6
    assert outcome.metadata["change_pct"] == -60.0 and outcome.metadata["tolerance_pct"] == 50.0

    lenient = ds.model_copy(update={"checks": ds.checks.model_copy(update={"volume_tolerance_pct": 70.0})})
    assert evaluate_partition(store, lenient, "merged", "2025-10-08", ["shop_a"], row_count)["volume_normal"].passed


def test_alert_rule_runs_on_ods_with_failing_rows_and_sample(yd_home, embedded_store, instance, catalog):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    ds = catalog.dataset("pdd", "badscore")
    put_raw(embedded_store, ds, "2025-10-01", "pdd_flagship", reviews("f", 5, score=1))
    put_raw(embedded_store, ds, "2025-10-01", "pdd_outlet", reviews("o", 5, score=5))
    put_raw(embedded_store, ds, "2025-10-01", "pdd_kids", reviews("k", 2, score=1))  # too few reviews to judge
    result = defs.resolve_job_def("pdd__badscore__publish").execute_in_process(
        partition_key="2025-10-01", instance=instance, raise_on_error=False)
    assert result.success
    [rule] = [e for e in result.get_asset_check_evaluations() if e.check_name == "pdd_bad_review_rate"]
    assert rule.asset_key == ods_key(ds) and rule.partition == "2025-10-01"
    assert not rule.passed and rule.severity == dg.AssetCheckSeverity.WARN
    assert rule.metadata["failing_count"].value == 1
    assert '"shop_id": "pdd_flagship"' in rule.metadata["sample"].value
    assert "pdd_kids" not in rule.metadata["sample"].value
