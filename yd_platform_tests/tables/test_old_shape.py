"""Old queries keep working: the old-shape view under the old table name, over the same
ODS parquet as the typed table, queried with `yd-platform sql` as the old system's
users wrote their queries (shop names, the reports' Chinese headers, text values)."""

import json
from datetime import date, datetime

import pytest

from yd_platform.catalog import DatasetSpec
from yd_platform.cli.main import main
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.table_engine import TableEngineResource
from yd_platform.tables.old_shape import (
    FILE_NAME_SUFFIXES,
    OldShapeError,
    catalog_shop_names,
    old_columns,
    old_table_aliases,
    old_table_name,
    typed_table_name,
)
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, xlsx

DAY = "2025-10-01"

# Shop report files as the back-ends (or the collectors) write them, under the reports' own headers.
REPORTS: dict[tuple[str, str], dict[str, list[list]]] = {
    ("pdd", "badscore"): {
        "pdd_flagship": [["订单号", "商品ID", "评分", "评价内容", "商品名称", "评价时间"],
                         ["o-1", 1001, 1, "质量差", "衬衫", "2025-10-01 10:00:00"],
                         ["o-2", 1002, 2, None, "裤子", "2025-10-01 11:00:00"]],
        "pdd_outlet": [["订单号", "商品ID", "评分", "评价内容", "商品名称"],
                       ["o-3", 1003, 3, "一般", "帽子"]],
        "pdd_popup": [["订单号", "商品ID", "评分", "评价内容", "商品名称"],  # a shop the catalog does not list
                      ["o-4", 1004, 1, "差", "袜子"]],
    },
    ("pdd", "quality"): {
        "pdd_flagship": [["商品id", "商品名称", "近30天异常订单数", "异常订单占比", "近30天品质求助平台率"],
                         ["g1", "杯子", 3, 0.25, 0.1],
                         ["g2", "碗", None, 1.0, None]],
    },
    ("tm", "badscore"): {
        "tm_flagship": [["feedId", "店铺名称", "商品标题", "用户评价", "评价时间", "评分", "订单号", "统计日期"],
                        ["f1", "天猫旗舰店", "杯子", "差", datetime(2025, 10, 1, 9, 30, 5), 1, "t-1", date(2025, 10, 1)],
                        ["f2", "天猫旗舰店", "碗", None, None, None, "t-2", date(2025, 10, 1)]],
    },
}


def publish_reports(resources, store, ds: DatasetSpec, instance) -> None:
    for shop, rows in REPORTS[(ds.platform, ds.code)].items():
        put_raw(store, ds, DAY, shop, xlsx(rows))
    result = publish(ds, DAY, resources, instance)
    assert result.success


def sql_json(capsys, query: str) -> list[dict]:
    assert main(["sql", query, "--json"]) == 0, capsys.readouterr().err
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def as_old_text(value) -> str:
    """A typed value as the old upload step wrote it: pandas' str(), '' for an empty cell
    (values arrive here as `yd-platform sql --json` prints them)."""
    return "" if value is None else str(value)


def expected_old_rows(ds: DatasetSpec, typed_rows: list[dict], shops: dict[str, str]) -> list[dict]:
    suffix = FILE_NAME_SUFFIXES.get((ds.platform, ds.code), "")
    return [{"shop": shops.get(r["shop_id"], r["shop_id"]) + suffix,
             **{c.header: as_old_text(r[c.column]) for c in old_columns(ds)},
             "dt": r["dt"]} for r in typed_rows]


@pytest.mark.parametrize("platform, code", sorted(REPORTS))
def test_old_shape_view_returns_the_typed_rows_as_the_old_merge_wrote_them(
        yd_home, catalog, instance, capsys, platform, code):
    ds = catalog.dataset(platform, code)
    publish_reports(local_resources(yd_home / "objects"), object_store_from_env().client(), ds, instance)
    key = old_columns(ds)[0]  # the first catalog column: a key of every one of these datasets

    old = sql_json(capsys, f'select * from {old_table_name(ds)} where dt = \'{DAY}\' order by "{key.header}"')
    typed = sql_json(capsys, f"select * from {typed_table_name(ds)} where dt = '{DAY}' order by {key.column}")

    assert [list(r) for r in old[:1]] == [["shop", *(c.header for c in old_columns(ds)), "dt"]]
    assert len(old) == sum(len(rows) - 1 for rows in REPORTS[(platform, code)].values())
    assert old == expected_old_rows(ds, typed, catalog_shop_names(catalog, platform))


def test_an_old_query_runs_unchanged(yd_home, catalog, instance, capsys):
    ds = catalog.dataset("pdd", "badscore")
    publish_reports(local_resources(yd_home / "objects"), object_store_from_env().client(), ds, instance)

    rows = sql_json(capsys, 'select shop, "评价内容" from ods.pdd.pdd_badscore where dt = \'2025-10-01\' '
                            'order by "订单号"')
    assert rows == [{"shop": "拼多多旗舰店", "评价内容": "质量差"}, {"shop": "拼多多旗舰店", "评价内容": ""},
                    {"shop": "拼多多折扣店", "评价内容": "一般"}, {"shop": "pdd_popup", "评价内容": "差"}]
    # the same query as Dremio users wrote it, quoted part by part, with text comparisons
    rows = sql_json(capsys, 'SELECT "shop", count(*) AS n FROM "minio"."warehouse"."ods"."pdd"."pdd_badscore" '
                            "WHERE dt = '2025-10-01' AND \"评分\" = '1' AND \"评价内容\" <> '' GROUP BY 1 ORDER BY 1")
    typed = sql_json(capsys, "select shop_id, count(*) as n from pdd.badscore where dt = '2025-10-01' "
                             "and score = 1 and content is not null group by 1 order by 1")
    assert [r["n"] for r in rows] == [r["n"] for r in typed] == [1, 1]
    assert [r["shop"] for r in rows] == ["pdd_popup", "拼多多旗舰店"]


def test_quality_shop_carries_the_old_file_name_suffix(yd_home, catalog, instance, capsys):
    ds = catalog.dataset("pdd", "quality")
    publish_reports(local_resources(yd_home / "objects"), object_store_from_env().client(), ds, instance)
    rows = sql_json(capsys, 'select shop, "商品id", "近30天异常订单数", "异常订单占比" '
                            "from minio.warehouse.ods.pdd.pdd_quality order by 2")
    assert rows == [{"shop": "拼多多旗舰店产品质量数据", "商品id": "g1", "近30天异常订单数": "3", "异常订单占比": "0.25"},
                    {"shop": "拼多多旗舰店产品质量数据", "商品id": "g2", "近30天异常订单数": "", "异常订单占比": "1.0"}]


def test_dates_and_times_read_as_the_old_text(yd_home, catalog, instance, capsys):
    ds = catalog.dataset("tm", "badscore")
    publish_reports(local_resources(yd_home / "objects"), object_store_from_env().client(), ds, instance)
    rows = sql_json(capsys, 'select "feedId", "评价时间", "统计日期", "评分", typeof("评分") as t '
                            "from minio.warehouse.ods.tm.tm_badscore order by 1")
    assert rows == [{"feedId": "f1", "评价时间": "2025-10-01 09:30:05", "统计日期": "2025-10-01", "评分": "1",
                     "t": "VARCHAR"},
                    {"feedId": "f2", "评价时间": "", "统计日期": "2025-10-01", "评分": "", "t": "VARCHAR"}]


def test_every_dataset_has_an_old_shape_and_its_typed_table_is_its_folder(catalog):
    for ds in catalog.datasets():
        headers = [c.header for c in old_columns(ds)]
        assert headers == [c.aliases[0] if c.aliases else c.name for c in ds.columns], ds.slug
        # the Dremio source `yd` reads the bucket `warehouse`: its folder path is the typed table's name
        assert typed_table_name(ds) == "yd.warehouse." + ds.object_path.strip("/").replace("/", "."), ds.slug
    badscore = catalog.dataset("pdd", "badscore")
    assert old_table_aliases(badscore) == ["ods.pdd.pdd_badscore"]


def test_a_header_named_twice_is_refused_naming_the_dataset(catalog):
    ds = catalog.dataset("pdd", "badscore")
    columns = [ds.columns[0], ds.columns[1].model_copy(update={"aliases": ["SHOP"]})]
    with pytest.raises(OldShapeError, match=r"dataset 'badscore'.*\['SHOP', 'shop'\] twice"):
        old_columns(ds.model_copy(update={"columns": columns}))


@pytest.mark.slow
def test_old_query_over_s3(minio_store, s3_server, catalog, instance, capsys, monkeypatch):
    ds = catalog.dataset("pdd", "badscore")
    resources = {"object_store": minio_store, "table_engine": TableEngineResource(engine="duckdb")}
    publish_reports(resources, minio_store.client(), ds, instance)
    for name, value in {"YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": s3_server, "YD_MINIO_ACCESS_KEY": "testing",
                        "YD_MINIO_SECRET_KEY": "testing-secret", "YD_MINIO_BUCKET": minio_store.bucket,
                        "YD_MINIO_REGION": "us-east-1", "YD_MINIO_SECURE": "false"}.items():
        monkeypatch.setenv(name, value)

    old = sql_json(capsys, 'select shop, "订单号", "评分", "评价内容" from ods.pdd.pdd_badscore '
                           "where dt = '2025-10-01' order by \"订单号\"")
    typed = sql_json(capsys, "select * from yd.warehouse.ods.pdd.pdd_badscore where dt = '2025-10-01' "
                             "order by order_id")
    shops = catalog_shop_names(catalog, "pdd")
    assert old == [{k: r[k] for k in ("shop", "订单号", "评分", "评价内容")}
                   for r in expected_old_rows(ds, typed, shops)]
    assert [r["shop"] for r in old] == ["拼多多旗舰店", "拼多多旗舰店", "拼多多折扣店", "pdd_popup"]

    key = f"ods/pdd/pdd_badscore/dt={DAY}/part-00000.parquet"
    before = minio_store.client().get_bytes(key)
    assert main(["sql", f"COPY (select 1 as x) TO 's3://{minio_store.bucket}/{key}'"]) == 1
    assert "COPY refused" in capsys.readouterr().err
    assert minio_store.client().get_bytes(key) == before
