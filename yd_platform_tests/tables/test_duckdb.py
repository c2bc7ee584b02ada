"""The embedded engine: every dataset as its typed table and its old-shape view, over all partitions."""

from datetime import date

import pytest

from yd_platform.resources.object_store import LocalObjectStore, ObjectStoreResource
from yd_platform.tables.duckdb_engine import DuckDBTables, TableQueryError, quote_table_names
from yd_platform.tables.old_shape import typed_table_name
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx


@pytest.fixture
def two_partitions(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    for day, n in (("2025-10-01", 3), ("2025-10-02", 5)):
        put_raw(store, ds, day, "shop_a", xlsx(review_rows(f"{day}-", n)))
        put_raw(store, ds, day, "shop_b", xlsx(review_rows(f"{day}-b", 1)))
        assert publish(ds, day, local_resources(tmp_path), instance).success
    tables = DuckDBTables.for_catalog(catalog, ObjectStoreResource(backend="local", root=str(tmp_path)))
    yield tables
    tables.close()


def test_query_over_two_partitions(two_partitions):
    result = two_partitions.query(
        "select dt, count(*) as n, count(distinct shop_id) as shops "
        "from yd.warehouse.ods.pdd.pdd_badscore group by dt order by dt")
    assert result.columns == ["dt", "n", "shops"]
    assert result.rows == [("2025-10-01", 4, 2), ("2025-10-02", 6, 2)]


def test_quoted_and_short_names(two_partitions):
    quoted = two_partitions.query('select count(*) from "yd.warehouse.ods.pdd.pdd_badscore" where dt = \'2025-10-02\'')
    short = two_partitions.query("select sum(score), min(period_start) from pdd.badscore where dt = '2025-10-02'")
    assert quoted.rows == [(6,)]
    assert short.rows == [(30, date(2025, 10, 2))]


def test_dataset_without_data_is_empty_with_columns(two_partitions):
    result = two_partitions.query("select * from yd.warehouse.ods.jd.jd_store")
    assert result.rows == []
    assert result.columns[:3] == ["platform", "shop_id", "sku_id"] and result.columns[-1] == "dt"
    old = two_partitions.query("select * from minio.warehouse.ods.jd.jd_store")
    assert old.rows == [] and old.columns == ["shop", "SKU", "商品名称", "仓库", "库存数量", "在途数量", "dt"]


def test_every_dataset_is_exposed_under_its_names(two_partitions, catalog):
    for ds in catalog.datasets():
        typed = two_partitions.query(f"select count(*) from {typed_table_name(ds)}").rows[0][0]
        short_name = two_partitions.query(f"select count(*) from {ds.platform}.{ds.code}").rows[0][0]
        old_shape = two_partitions.query(f"select count(*) from {ds.table}").rows[0][0]
        assert typed == short_name == old_shape, ds.table
    assert two_partitions.query("select count(*) from pdd.badscore").rows == [(10,)]


def test_query_error_names_sql(two_partitions):
    with pytest.raises(TableQueryError, match="nope") as err:
        two_partitions.query("select nope from pdd.badscore")
    assert "SQL: select nope" in str(err.value)


def test_names_are_found_as_dremio_users_spell_them(two_partitions):
    spellings = ["minio.warehouse.ods.pdd.pdd_badscore", '"minio"."warehouse"."ods"."pdd"."pdd_badscore"',
                 'MINIO.warehouse . ods.pdd."pdd_badscore"', "ods.pdd.pdd_badscore",
                 '"minio.warehouse.ods.pdd.pdd_badscore"']
    for name in spellings:
        assert two_partitions.query(f"select count(*) from {name} where dt = '2025-10-02'").rows == [(6,)], name
    # a name inside a string literal or a comment is text, not a table
    result = two_partitions.query("select 'minio.warehouse.ods.pdd.pdd_badscore' as t -- from ods.pdd.pdd_badscore")
    assert result.rows == [("minio.warehouse.ods.pdd.pdd_badscore",)]


def test_quote_table_names_leaves_quoted_and_longer_names():
    names = ["minio.warehouse.ods.pdd.chat", "minio.warehouse.ods.pdd.chat_x"]
    sql = 'select * from minio.warehouse.ods.pdd.chat join "minio.warehouse.ods.pdd.chat" using (x) ' \
          "join minio.warehouse.ods.pdd.chat_x using (y)"
    assert quote_table_names(sql, names) == (
        'select * from "minio.warehouse.ods.pdd.chat" join "minio.warehouse.ods.pdd.chat" using (x) '
        'join "minio.warehouse.ods.pdd.chat_x" using (y)')
