"""With `quarantine_bad_files`, a bad shop file is kept under quarantine/ and the rest merge."""

import pyarrow.parquet as pq

from yd_platform.datasets.layout import merged_parquet, quarantine_prefix
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx

BAD = b"PK\x03\x04 cut off"


def test_quarantine_run(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore").model_copy(update={"quarantine_bad_files": True})
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "shop_a", xlsx(review_rows("a", 3)))
    bad_key = put_raw(store, ds, "2025-10-01", "shop_b", BAD)
    put_raw(store, ds, "2025-10-01", "shop_c", xlsx(review_rows("c", 2)))

    result = publish(ds, "2025-10-01", local_resources(tmp_path), instance)

    assert result.success
    merged = materialization(result, "merged")
    assert merged["quarantined_files"] == 1
    [item] = merged["quarantine_list"]
    assert item["shop"] == "shop_b" and item["file"] == bad_key
    assert item["kept_at"] == f"{quarantine_prefix(ds, '2025-10-01')}/shop_b.xlsx"
    assert "shop_b.xlsx: corrupt xlsx file" in item["error"]
    assert store.get_bytes(item["kept_at"]) == BAD
    assert "corrupt xlsx" in store.get_bytes(item["kept_at"] + ".error.txt").decode()
    assert store.exists(bad_key)  # raw/ keeps what was collected

    table = pq.read_table(tmp_path / merged_parquet(ds, "2025-10-01"))
    assert sorted(set(table.column("shop_id").to_pylist())) == ["shop_a", "shop_c"]
    assert materialization(result, "ods")["dagster/row_count"] == 5

    # once the shop's file is good again, its quarantined copy goes away
    put_raw(store, ds, "2025-10-01", "shop_b", xlsx(review_rows("b", 1)))
    outcome = merge_partition(store, ds, "2025-10-01")
    assert outcome.rows == 6 and not outcome.quarantined
    assert store.list(quarantine_prefix(ds, "2025-10-01")) == []


def test_every_file_bad_still_fails(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore").model_copy(update={"quarantine_bad_files": True})
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, "2025-10-01", "shop_b", BAD)
    try:
        merge_partition(store, ds, "2025-10-01")
    except Exception as exc:  # noqa: BLE001
        assert "every shop file is bad" in str(exc) and "shop_b.xlsx" in str(exc)
    else:
        raise AssertionError("expected a failure")
    assert not store.exists(merged_parquet(ds, "2025-10-01"))
