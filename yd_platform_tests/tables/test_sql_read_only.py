"""`yd-platform sql` reads the ODS tables and nothing else, and changes nothing: real DuckDB
over real published partitions; every refused statement leaves the ODS file's bytes as
they were."""

import hashlib

import duckdb
import pyarrow as pa
import pytest

from yd_platform.cli.main import main
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tables.duckdb_engine import DuckDBTables, ReadOnlyError, TableQueryError
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx

DAY = "2025-10-01"


@pytest.fixture
def ods_file(yd_home, catalog, instance):
    """The published parquet of pdd/badscore's partition DAY (3 rows of pdd_flagship)."""
    ds = catalog.dataset("pdd", "badscore")
    put_raw(object_store_from_env().client(), ds, DAY, "pdd_flagship", xlsx(review_rows("r", 3)))
    assert publish(ds, DAY, local_resources(yd_home / "objects"), instance).success
    path = yd_home / "objects" / "ods" / "pdd" / "pdd_badscore" / f"dt={DAY}" / "part-00000.parquet"
    assert path.exists()
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


REFUSED = [  # (sql, what the error says)
    ("select * from read_csv('/etc/passwd')", "file system operations are disabled"),
    ("select * from read_parquet('{file}')", "file system operations are disabled"),
    ("select * from read_text('{file}')", "file system operations are disabled"),
    ("COPY (select 1 as x) TO '{file}' (FORMAT parquet)", "COPY refused: the ODS tables are read-only"),
    ("copy pdd.badscore to '{partition}/part-00001.parquet'", "COPY refused"),
    ("ATTACH '{partition}/x.duckdb' AS x", "ATTACH refused"),
    ("ATTACH ':memory:' AS x", "ATTACH refused"),
    ("SET enable_external_access = true", "SET refused"),
    ("RESET lock_configuration", "SET refused"),
    ("INSTALL httpfs", "INSTALL/LOAD refused"),
    ("LOAD httpfs", "INSTALL/LOAD refused"),
    ("PRAGMA enable_profiling", "PRAGMA refused"),
    ("CREATE TABLE t AS SELECT * FROM pdd.badscore", "CREATE refused"),
    ("CREATE OR REPLACE VIEW pdd.badscore AS SELECT 1", "CREATE refused"),
    ("INSERT INTO pdd.badscore (order_id) VALUES ('x')", "INSERT refused"),
    ("DROP VIEW pdd.badscore", "DROP refused"),
    ("select 1; COPY (select 1) TO '{file}'", "COPY refused"),
    ("EXPLAIN ANALYZE COPY (select 1) TO '{file}'", "COPY refused"),
    ("EXPORT DATABASE '{partition}'", "EXPORT refused"),
]


def test_sql_refuses_what_reaches_beyond_the_tables(ods_file, capsys):
    before = digest(ods_file)
    for sql, says in REFUSED:
        query = sql.format(file=ods_file, partition=ods_file.parent)

        assert main(["sql", query]) == 1, query
        err = capsys.readouterr().err
        assert err.startswith("yd-platform sql: ") and says in err, (query, err)

        assert digest(ods_file) == before, query
        assert sorted(p.name for p in ods_file.parent.iterdir()) == ["part-00000.parquet"], query
        assert main(["sql", "select count(*) as n from pdd.badscore", "--csv"]) == 0  # the tables still answer
        assert capsys.readouterr().out == "n\n3\n", query


def test_reads_work_over_typed_tables_and_old_shape_views(ods_file, capsys):
    before = digest(ods_file)
    for query, out in [
        ("select count(*) as n from yd.warehouse.ods.pdd.pdd_badscore where dt = '2025-10-01'", "n\n3\n"),
        ("select shop, \"订单号\" from minio.warehouse.ods.pdd.pdd_badscore order by 2 limit 1", "shop,订单号\n拼多多旗舰店,or0\n"),
        ("with t as (select score from pdd.badscore) select sum(score) as s from t", "s\n15\n"),
        ("from pdd.badscore select count(distinct shop_id) as shops", "shops\n1\n"),
        ("select current_setting('enable_external_access') as external", "external\nFalse\n"),
    ]:
        assert main(["sql", query, "--csv"]) == 0, query
        assert capsys.readouterr().out == out, query
    assert main(["sql", "explain select * from pdd.badscore"]) == 0
    assert "ARROW_SCAN" in capsys.readouterr().out.upper()
    assert digest(ods_file) == before


def test_the_connection_itself_is_locked(ods_file, catalog):
    """Even SQL that never went through the statement check reaches no file."""
    tables = DuckDBTables.for_catalog(catalog, object_store_from_env().resolved())
    try:
        con = tables.connect()
        with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
            con.execute(f"COPY (select 1 as x) TO '{ods_file}' (FORMAT parquet)")
        with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
            con.execute("SET enable_external_access = true")
        secret = pa.table({"token": ["do-not-show"]})  # noqa: F841 - a Python variable is no table
        with pytest.raises(TableQueryError, match="secret does not exist"):
            tables.query("select * from secret")
        with pytest.raises(ReadOnlyError, match="INSERT refused"):
            tables.query("insert into pdd.badscore (order_id) values ('x')")
        assert tables.query("select count(*) from pdd.badscore").rows == [(3,)]
    finally:
        tables.close()
