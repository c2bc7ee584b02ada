"""The merged and ods stages on the MinIO backend, read back through DuckDB over S3."""

import pytest

from yd_platform.datasets.layout import ods_data_key, raw_object
from yd_platform.resources.table_engine import TableEngineResource
from yd_platform.tables.duckdb_engine import DuckDBTables
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.dataset_assets import publish
from yd_platform_tests.object_files import review_rows, xlsx


@pytest.mark.slow
def test_publish_on_minio_and_query(minio_store, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = minio_store.client()
    resources = {"object_store": minio_store, "table_engine": TableEngineResource(engine="duckdb")}
    for day, n in (("2025-10-01", 2), ("2025-10-02", 4)):
        store.put_bytes(raw_object(ds, day, "shop_a", "xlsx"), xlsx(review_rows(f"{day}-", n)))
        assert publish(ds, day, resources, instance).success
    rerun = publish(ds, "2025-10-02", resources, instance)
    assert rerun.success

    assert [o.key for o in store.list("ods/pdd/pdd_badscore")] == [
        ods_data_key(ds, "2025-10-01"), ods_data_key(ds, "2025-10-02")]
    meta = materialization(rerun, "ods")
    assert meta["partition_path"] == f"s3://{minio_store.bucket}/ods/pdd/pdd_badscore/dt=2025-10-02/"
    assert meta["dagster/row_count"] == 4

    tables = DuckDBTables.for_catalog(catalog, minio_store)
    try:
        result = tables.query("select dt, count(*) from minio.warehouse.ods.pdd.pdd_badscore group by dt order by dt")
    finally:
        tables.close()
    assert result.rows == [("2025-10-01", 2), ("2025-10-02", 4)]
