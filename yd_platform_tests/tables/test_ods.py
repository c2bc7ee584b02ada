"""The ODS partition: replaced on rerun (never duplicated), metadata for the UI."""

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yd_platform.pipeline.layout import merged_parquet
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform.tables.ods import OdsError, ods_data_key, ods_files, ods_partition_key, publish_partition
from yd_platform_tests.merge.files import local_resources, materialization, publish, put_raw, review_rows, xlsx

DAY = "2025-10-01"


def test_rerun_replaces_partition(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    put_raw(store, ds, DAY, "shop_a", xlsx(review_rows("a", 4)))
    put_raw(store, ds, DAY, "shop_b", xlsx(review_rows("b", 2)))
    # an object of an older layout under the partition goes away on the next publish
    store.put_bytes(f"ods/pdd/pdd_badscore/dt={DAY}/part-legacy.parquet", b"old")

    first = publish(ds, DAY, local_resources(tmp_path), instance)
    second = publish(ds, DAY, local_resources(tmp_path), instance)

    assert first.success and second.success
    files = store.list(f"ods/pdd/pdd_badscore/dt={DAY}")
    assert [o.key for o in files] == [ods_data_key(ds, DAY)]
    assert pq.read_table(tmp_path / files[0].key).num_rows == 6
    meta = materialization(second, "ods").metadata
    assert meta["dagster/row_count"].value == 6
    assert meta["table"].value == "minio.warehouse.ods.pdd.pdd_badscore"
    assert meta["partition_path"].value.endswith(f"ods/pdd/pdd_badscore/dt={DAY}/")
    assert meta["bytes"].value == files[0].size
    assert meta["engine"].value == "duckdb"
    columns = [c.name for c in meta["dagster/column_schema"].schema.columns]
    assert columns[:3] == ["platform", "shop_id", "order_id"] and columns[-1] == "dt"
    assert "extra_columns" in columns  # the report's headers the catalog does not know
    assert materialization(first, "ods").metadata["replaced_objects"].value == 1


def test_backfill_loops_over_partition_range(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    for day, n in (("2025-10-01", 2), ("2025-10-02", 3)):
        put_raw(store, ds, day, "shop_a", xlsx(review_rows(day, n)))
    from yd_platform.pipeline.assets import build_dataset_assets, stage_key

    assets = [a for a in build_dataset_assets(ds) if a.key in (stage_key(ds, "merged"), stage_key(ds, "ods"))]
    tags = {"dagster/asset_partition_range_start": "2025-10-01", "dagster/asset_partition_range_end": "2025-10-02"}
    result = dg.materialize(assets, tags=tags, resources=local_resources(tmp_path), instance=instance,
                            raise_on_error=False)
    assert result.success
    meta = materialization(result, "ods").metadata
    assert meta["rows_per_partition"].value == {"2025-10-01": 2, "2025-10-02": 3}
    assert meta["dagster/row_count"].value == 5


def test_merged_input_with_other_schema_is_refused(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    pq.write_table(pa.table({"review_id": ["x"]}), tmp_path / "t.parquet")
    store.put_file(merged_parquet(ds, DAY), tmp_path / "t.parquet")
    with pytest.raises(OdsError, match="does not have the table schema"):
        publish_partition(store, ds, DAY)
    assert store.list("ods/pdd/pdd_badscore") == []


def test_missing_merged_input(tmp_path, catalog):
    with pytest.raises(OdsError, match="no merged parquet"):
        publish_partition(LocalObjectStore(tmp_path), catalog.dataset("pdd", "badscore"), DAY)


def test_table_files_are_the_visible_parquet_files_of_its_partitions(tmp_path, catalog):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    for name in ("part-00000.parquet", "_part-00001.parquet", "notes.txt"):
        store.put_bytes(f"ods/pdd/pdd_badscore/dt={DAY}/{name}", b"x")
    store.put_bytes("ods/pdd/pdd_badscore/dt=2025-10-02/part-00000.parquet", b"x")
    store.put_bytes("ods/pdd/pdd_badscore_old/dt=2025-10-02/part-00000.parquet", b"x")

    assert ods_files(store, ds, DAY) == [ods_data_key(ds, DAY)]
    assert ods_files(store, ds) == [ods_data_key(ds, DAY), ods_data_key(ds, "2025-10-02")]
    assert ods_partition_key(ds, ods_data_key(ds, DAY)) == DAY
    assert ods_partition_key(ds, "ods/pdd/pdd_badscore/month=2025-10/part-00000.parquet") is None
    assert ods_partition_key(ds, "ods/pdd/pdd_badscore_old/dt=2025-10-02/part-00000.parquet") is None
    monthly = catalog.dataset("pdd", "kpi_monthly")
    assert ods_partition_key(monthly, ods_data_key(monthly, "2025-09")) == "2025-09"
