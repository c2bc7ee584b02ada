"""`yd-platform tags demo-data`: deterministic demo users in the warehouse database, never
over a real table; the warehouse collector turns a table into a verified report."""

from datetime import date

import pytest
import sqlalchemy as sa

from yd_platform.catalog.periods import period_from_key
from yd_platform.cli.main import main
from yd_platform.collect.errors import PermanentError
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.platforms.warehouse import WarehouseCollector
from yd_platform.resources.warehouse_db import warehouse_url
from yd_platform.tags.seed.demo_data import DemoDataError, feature_tables, write_demo_data

DAY = date(2025, 10, 2)


def dump(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {t: sorted(conn.execute(sa.text(f"select * from {t}")).all())
               for t in ("user_basic_info", "user_asset_summary", "user_activity_summary")}
    engine.dispose()
    return out


def test_same_arguments_same_rows(yd_home, catalog, capsys):
    assert main(["tags", "demo-data", "--users", "60", "--seed", "3", "--today", "2025-10-02"]) == 0
    out = capsys.readouterr().out
    assert "user_basic_info: 60 rows" in out and "user_asset_summary: 57 rows" in out
    first = dump(warehouse_url())
    write_demo_data(warehouse_url(), catalog, 60, 3, DAY)
    assert dump(warehouse_url()) == first
    write_demo_data(warehouse_url(), catalog, 60, 4, DAY)
    assert dump(warehouse_url()) != first
    basic = first["user_basic_info"]
    assert basic[0][0] == "user_000001" and len({r[0] for r in basic}) == 60
    # the old columns, with the threshold user first
    columns = [c.name for c in catalog.dataset("dw", "user_basic_info").columns]
    row = dict(zip(columns, basic[0]))
    assert row["age"] == 18 and row["user_level"] == "VIP2" and row["registration_date"] == "2025-09-02"


def test_a_real_warehouse_table_is_never_replaced(yd_home, catalog, capsys):
    engine = sa.create_engine(warehouse_url())
    with engine.begin() as conn:
        conn.execute(sa.text("create table user_basic_info (user_id varchar(100) primary key, age int)"))
        conn.execute(sa.text("insert into user_basic_info values ('real_1', 40)"))
    with pytest.raises(DemoDataError, match=r"tables \['user_basic_info'\] exist and were not written by demo-data"):
        write_demo_data(warehouse_url(), catalog, 10, 1, DAY)
    assert main(["tags", "demo-data", "--users", "10"]) == 2
    assert "refusing to replace them" in capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(sa.text("select * from user_basic_info")).all() == [("real_1", 40)]
        assert not sa.inspect(conn).has_table("user_activity_summary")
    engine.dispose()


def test_warehouse_collector_exports_the_catalog_columns(yd_home, catalog):
    write_demo_data(warehouse_url(), catalog, 25, 9, DAY)
    ds = feature_tables(catalog)["user_activity_summary"]
    job = CollectJob(ds, period_from_key(ds.cadence, DAY.isoformat()), "dw_main", "warehouse")
    got = WarehouseCollector().collect(job)
    lines = got.data.decode().splitlines()
    assert lines[0] == ",".join(c.name for c in ds.columns)
    assert got.report.rows == 25 and got.report.ext == "csv"
    assert lines[1].startswith("user_000001,10,") and lines[1].endswith(",2025-09-25,2025-10-02")


def test_warehouse_collector_names_a_missing_table(yd_home, catalog):
    ds = feature_tables(catalog)["user_basic_info"]
    job = CollectJob(ds, period_from_key(ds.cadence, DAY.isoformat()), "dw_main", "warehouse")
    with pytest.raises(PermanentError, match=r"no table 'user_basic_info' in the warehouse sqlite:///.*warehouse.db"):
        WarehouseCollector().collect(job)


@pytest.mark.slow
def test_warehouse_shop_comes_from_the_catalog_under_the_mysql_shop_source(catalog, mysql_url):
    from yd_platform.resources.shops import ShopSourceResource

    source = ShopSourceResource(source="mysql", db_url=mysql_url)  # no dw_shops table there
    assert [s.id for s in source.active_shops(catalog, "dw")] == ["dw_main"]
