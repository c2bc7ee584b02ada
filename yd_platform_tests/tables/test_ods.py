"""The ODS partition: replaced on rerun (never duplicated), metadata for the UI, and the
`dt=` folders weekly and monthly tables share with their existing readers."""

import io
import json
from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yd_platform.cli.main import main
from yd_platform.datasets.layout import merged_parquet, ods_data_key, ods_files, ods_partition_key
from yd_platform.datasets.schema import merged_schema
from yd_platform.resources.object_store import LocalObjectStore, ObjectStoreResource, object_store_from_env
from yd_platform.tables.duckdb_engine import DuckDBTables
from yd_platform.tables.ods import OdsError, publish_partition
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx

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
    meta = materialization(second, "ods")
    assert meta["dagster/row_count"] == 6
    assert meta["table"] == "yd.warehouse.ods.pdd.pdd_badscore"
    assert meta["old_shape_view"] == "minio.warehouse.ods.pdd.pdd_badscore"
    assert meta["partition_path"].endswith(f"ods/pdd/pdd_badscore/dt={DAY}/")
    assert meta["bytes"] == files[0].size
    assert meta["engine"] == "duckdb"
    columns = [c.name for c in meta["dagster/column_schema"].columns]
    assert columns[:3] == ["platform", "shop_id", "order_id"] and columns[-1] == "dt"
    assert "extra_columns" in columns  # the report's headers the catalog does not know
    assert materialization(first, "ods")["replaced_objects"] == 1


def test_backfill_loops_over_partition_range(tmp_path, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    store = LocalObjectStore(tmp_path)
    for day, n in (("2025-10-01", 2), ("2025-10-02", 3)):
        put_raw(store, ds, day, "shop_a", xlsx(review_rows(day, n)))
    from yd_platform.datasets.keys import stage_key
    from yd_platform_tests.dataset_assets import dataset_assets

    assets = [a for a in dataset_assets(ds) if a.key in (stage_key(ds, "merged"), stage_key(ds, "ods"))]
    tags = {"dagster/asset_partition_range_start": "2025-10-01", "dagster/asset_partition_range_end": "2025-10-02"}
    result = dg.materialize(assets, tags=tags, resources=local_resources(tmp_path), instance=instance,
                            raise_on_error=False)
    assert result.success
    meta = materialization(result, "ods")
    assert meta["rows_per_partition"] == {"2025-10-01": 2, "2025-10-02": 3}
    assert meta["dagster/row_count"] == 5


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


# (partition key, first day, last day) of the Thursday-to-Wednesday T-9..T-3 week and a month
WEEK = ("2025-09-25", date(2025, 9, 25), date(2025, 10, 1))
MONTH = ("2025-09", date(2025, 9, 1), date(2025, 9, 30))


def kpi_parquet(ds, period, agents: int) -> bytes:
    """A merged KPI partition as the merge writes it (one row per agent)."""
    key, first, last = period
    table = pa.Table.from_pydict({
        "platform": ["pdd"] * agents, "shop_id": ["pdd_flagship"] * agents,
        "agent": [f"客服{i:02d}" for i in range(agents)], "consultations": [10 + i for i in range(agents)],
        "avg_response_seconds": [12.5] * agents, "conversion_rate": [0.3] * agents,
        "sales_amount": [100.0 * (i + 1) for i in range(agents)], "extra_columns": [None] * agents,
        "period": [key] * agents, "period_start": [first] * agents, "period_end": [last] * agents,
    }, schema=merged_schema(ds))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def publish_kpi(store, root, ds, period, agents, instance):
    store.put_bytes(merged_parquet(ds, period[0]), kpi_parquet(ds, period, agents))
    return publish(ds, period[0], local_resources(root), instance, stages=("ods",))


@pytest.mark.parametrize("code, period, folder", [
    ("kpi_weekly", WEEK, "dt=2025-09-25_2025-10-01"),
    ("kpi_monthly", MONTH, "dt=2025-09-01_2025-09-30"),
])
def test_weekly_and_monthly_publish_to_first_and_last_day(tmp_path, catalog, instance, code, period, folder):
    ds = catalog.dataset("pdd", code)
    store = LocalObjectStore(tmp_path)

    result = publish_kpi(store, tmp_path, ds, period, 3, instance)

    assert result.success  # the DuckDB read-back found the 3 rows under the folder
    data_key = f"ods/pdd/pdd_{code}/{folder}/part-00000.parquet"
    assert [o.key for o in store.list(f"ods/pdd/pdd_{code}")] == [data_key]
    assert ods_data_key(ds, period[0]) == data_key
    assert ods_partition_key(ds, data_key) == period[0]
    meta = materialization(result, "ods")
    assert meta["partition_path"].endswith(f"/{folder}/")
    assert meta["dagster/row_count"] == 3


def test_sql_reads_weekly_table_by_dt(yd_home, catalog, instance, capsys):
    ds = catalog.dataset("pdd", "kpi_weekly")
    store = object_store_from_env().client()
    publish_kpi(store, yd_home / "objects", ds, WEEK, 2, instance)
    publish_kpi(store, yd_home / "objects", ds, ("2025-10-02", date(2025, 10, 2), date(2025, 10, 8)), 4, instance)

    sql = ("select dt, typeof(dt) as t, count(*) as n, min(period_start) as first "
           "from yd.warehouse.ods.pdd.pdd_kpi_weekly group by dt order by dt")
    assert main(["sql", sql, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"dt": "2025-09-25_2025-10-01", "t": "VARCHAR", "n": 2, "first": "2025-09-25"},
                    {"dt": "2025-10-02_2025-10-08", "t": "VARCHAR", "n": 4, "first": "2025-10-02"}]
    assert main(["sql", "select sum(sales_amount) from pdd.kpi_weekly where dt = '2025-09-25_2025-10-01'",
                 "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "300.0"
    assert main(["sql", "--tables"]) == 0
    listing = capsys.readouterr().out
    assert "dt = <first day>_<last day>" in listing and "dt = YYYY-MM-01_YYYY-MM-<last day>" in listing


def test_folder_that_is_no_period_is_not_a_partition(tmp_path, catalog):
    weekly, monthly = catalog.dataset("pdd", "kpi_weekly"), catalog.dataset("pdd", "kpi_monthly")
    store = LocalObjectStore(tmp_path)
    good = ods_data_key(weekly, WEEK[0])
    store.put_bytes(good, kpi_parquet(weekly, WEEK, 2))
    strays = ["dt=2025-09-25_2025-09-30",  # six days
              "dt=2025-09-29_2025-10-05",  # seven days, but the table's weeks start on Thursday
              "dt=2025-09-25",  # a daily folder
              "week=2025-09-25"]  # the folder name other tables use
    for folder in strays:
        store.put_bytes(f"ods/pdd/pdd_kpi_weekly/{folder}/part-00000.parquet", kpi_parquet(weekly, WEEK, 5))
        assert ods_partition_key(weekly, f"ods/pdd/pdd_kpi_weekly/{folder}/part-00000.parquet") is None
    for folder in ("dt=2025-09-01_2025-09-29", "dt=2025-09-02_2025-10-01", "month=2025-09", "dt=2025-09"):
        assert ods_partition_key(monthly, f"ods/pdd/pdd_kpi_monthly/{folder}/part-00000.parquet") is None

    assert ods_files(store, weekly) == [good]
    tables = DuckDBTables.for_catalog(catalog, ObjectStoreResource(backend="local", root=str(tmp_path)))
    try:
        assert tables.query("select dt, count(*) from pdd.kpi_weekly group by dt").rows == [
            ("2025-09-25_2025-10-01", 2)]
    finally:
        tables.close()
