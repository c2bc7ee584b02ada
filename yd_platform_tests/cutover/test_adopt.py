"""`yd-platform adopt` on the embedded default: the old object store's ODS partitions (old
shape, as the old upload wrote them) become materialized partitions of a real instance;
bad and foreign objects are listed, not adopted; a dry run records nothing; a second run
records nothing new."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow.parquet as pq
import pytest

from yd_platform.cli import main as cli
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.resources.object_store import LocalObjectStore
from yd_platform.resources.shops import ShopSourceResource
from yd_platform_tests.cutover.old_layout import badscore_rows, kpi_rows, old_parquet, put_old

BADSCORE = "ods/pdd/pdd_badscore"
FLAGSHIP, OUTLET = "拼多多旗舰店", "拼多多折扣店"


def prefill(store) -> dict[str, str]:
    """Old objects of a few datasets and partitions, and bad ones; returns {name: key}."""
    day1 = badscore_rows(FLAGSHIP, "2025-09-01", 4) + badscore_rows(OUTLET, "2025-09-01", 3)
    keys = {
        # two uploads into one partition, the second repeating two rows of the first
        "day1": f"{BADSCORE}/dt=2025-09-01/merged_badscore_data.parquet",
        "day1_again": f"{BADSCORE}/dt=2025-09-01/pdd_badscore_2025-09-01.parquet",
        "day2": f"{BADSCORE}/dt=2025-09-02/merged_badscore_data.parquet",
        "quality": "ods/pdd/pdd_quality/dt=2025-09-02/merged_quality_data.parquet",
        "weekly": "ods/pdd/pdd_kpi_weekly/dt=2025-09-25_2025-10-01/merged_kpi_data.parquet",
        "monthly": "ods/pdd/pdd_kpi_monthly/dt=2025-09-01_2025-09-30/merged_kpi_data.parquet",
        "tm_no_data": "ods/tm/tm_badscore/dt=2025-09-03/2025-09-03.parquet",
        # bad or foreign
        "unreadable": f"{BADSCORE}/dt=2025-09-03/merged_badscore_data.parquet",
        "wrong_columns": "ods/pdd/pdd_kpi_days/dt=2025-09-01/merged_data.parquet",
        "no_shop": "ods/erp/goodscount/dt=2025-09-01/data.parquet",
        "not_a_period": "ods/pdd/pdd_kpi_weekly/dt=2025-09-24_2025-09-30/merged_kpi_data.parquet",
        "before_start": f"{BADSCORE}/dt=2025-08-31/merged_badscore_data.parquet",
        "foreign": "ods/pdd/pdd_promotion/dt=2025-09-01/merged_data.parquet",
    }
    quality = [{"shop": f"{FLAGSHIP}产品质量数据", "商品id": f"g{i}", "商品名称": f"商品{i}", "近30天异常订单数": i,
                "异常订单占比": 0.01 * i} for i in range(5)]
    put_old(store, keys["day1"], old_parquet(day1))
    put_old(store, keys["day1_again"], old_parquet(day1[:2]))
    put_old(store, keys["day2"], old_parquet(badscore_rows(FLAGSHIP, "2025-09-02", 2)))
    put_old(store, keys["quality"], old_parquet(quality))
    put_old(store, keys["weekly"], old_parquet(kpi_rows(FLAGSHIP, 3) + kpi_rows(OUTLET, 2)))
    put_old(store, keys["monthly"], old_parquet(kpi_rows(OUTLET, 4)))
    put_old(store, keys["tm_no_data"], old_parquet([dict.fromkeys(["shop", "comment_id", "content", "rating", "date"],
                                                                  "无数据")]))
    put_old(store, keys["unreadable"], b"PAR1 cut off during the upload")
    put_old(store, keys["wrong_columns"], old_parquet([{"shop": FLAGSHIP, "客服": "a", "日期": "2025-09-01"}]))
    put_old(store, keys["no_shop"], old_parquet([{"商品编码": "s1", "实际库存数": "3"}]))
    put_old(store, keys["not_a_period"], old_parquet(kpi_rows(FLAGSHIP, 1)))
    put_old(store, keys["before_start"], old_parquet(badscore_rows(FLAGSHIP, "2025-08-31", 1)))
    put_old(store, keys["foreign"], old_parquet(kpi_rows(FLAGSHIP, 1)))
    return keys


def adopt_cli(capsys, *args: str) -> dict:
    assert cli.main(["adopt", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def materializations(instance, key: dg.AssetKey) -> list[dg.EventLogRecord]:
    return list(instance.fetch_materializations(key, limit=1000).records)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_dry_run_lists_then_apply_records_and_repeats_nothing(yd_home, dagster_home, catalog, capsys):
    store = LocalObjectStore(yd_home / "objects")
    keys = prefill(store)
    with dg.DagsterInstance.get() as instance:
        sync_shops(instance, catalog, ShopSourceResource(source="config"))
    before = sorted(o.key for o in store.list(""))

    dry = adopt_cli(capsys)
    assert dry["applied"] is False
    listed = {(a["dataset"], a["partition"]): a for a in dry["adopted"]}
    assert sorted(listed) == [("pdd/badscore", "2025-09-01"), ("pdd/badscore", "2025-09-02"),
                              ("pdd/kpi_monthly", "2025-09"), ("pdd/kpi_weekly", "2025-09-25"),
                              ("pdd/quality", "2025-09-02"), ("tm/badscore", "2025-09-03")]
    day1 = listed[("pdd/badscore", "2025-09-01")]
    # the second upload repeated two rows: the same record twice is one row
    assert (day1["rows"], day1["shops"]) == (7, {"pdd_flagship": 4, "pdd_outlet": 3})
    assert sorted(day1["sources"]) == sorted([keys["day1"], keys["day1_again"]])
    assert day1["stages"] == ["merged", "ods"]
    assert listed[("pdd/quality", "2025-09-02")]["shops"] == {"pdd_flagship": 5}  # 产品质量数据 suffix dropped
    assert listed[("pdd/kpi_weekly", "2025-09-25")]["rows"] == 5
    assert listed[("tm/badscore", "2025-09-03")]["rows"] == 0  # the old "无数据" placeholder: a day without data
    reasons = {r["where"]: r["reason"] for r in dry["not_adopted"]}
    assert "unreadable parquet" in reasons[keys["unreadable"]]
    assert "wrong columns" in reasons["ods/pdd/pdd_kpi_days/dt=2025-09-01"]
    assert "no `shop` column" in reasons["ods/erp/goodscount/dt=2025-09-01"]
    assert "is no period of pdd/kpi_weekly" in reasons["ods/pdd/pdd_kpi_weekly/dt=2025-09-24_2025-09-30"]
    assert "before the dataset's start_date 2025-09-01" in reasons[f"{BADSCORE}/dt=2025-08-31"]
    assert "no dataset of the catalog" in reasons["ods/pdd/pdd_promotion/dt=2025-09-01"]
    # nothing written, nothing recorded
    assert sorted(o.key for o in store.list("")) == before
    with dg.DagsterInstance.get() as instance:
        assert not materializations(instance, merged_key(catalog.dataset("pdd", "badscore")))

    applied = adopt_cli(capsys, "--apply")
    assert applied["applied"] is True
    assert {(a["dataset"], a["partition"]) for a in applied["adopted"]} == set(listed)
    badscore = catalog.dataset("pdd", "badscore")
    with dg.DagsterInstance.get() as instance:
        assert instance.get_materialized_partitions(merged_key(badscore)) == {"2025-09-01", "2025-09-02"}
        assert instance.get_materialized_partitions(ods_key(badscore)) == {"2025-09-01", "2025-09-02"}
        assert instance.get_materialized_partitions(ods_key(catalog.dataset("pdd", "kpi_monthly"))) == {"2025-09"}
        [record] = [r for r in materializations(instance, ods_key(badscore)) if r.partition_key == "2025-09-01"]
        meta = record.asset_materialization.metadata
        assert meta["adopted"].value is True and meta["dagster/row_count"].value == 7
        assert sorted(meta["source_objects"].value) == sorted([keys["day1"], keys["day1_again"]])
        merged_events = len(materializations(instance, merged_key(badscore)))
    # the typed table replaced the old objects, which are kept beside it
    table = pq.read_table(yd_home / "objects" / BADSCORE / "dt=2025-09-01" / "part-00000.parquet")
    assert table.num_rows == 7 and table.schema.field("score").type == "int64"
    assert sorted(set(table.column("shop_id").to_pylist())) == ["pdd_flagship", "pdd_outlet"]
    assert [o.key.rsplit("/", 1)[-1] for o in store.list(f"{BADSCORE}/dt=2025-09-01")] == ["part-00000.parquet"]
    assert store.exists(f"adopted/{keys['day1']}") and store.exists(f"adopted/{keys['day1_again']}")
    assert store.exists("merged/pdd/badscore/2025-09-01/pdd_badscore_2025-09-01.xlsx")
    # bad and foreign objects stay as they were
    for name in ("unreadable", "wrong_columns", "no_shop", "not_a_period", "before_start", "foreign"):
        assert store.exists(keys[name]), name

    again = adopt_cli(capsys, "--apply")
    assert again["adopted"] == []
    assert ["pdd/badscore", "2025-09-01"] in [[k["dataset"], k["partition"]] for k in again["recorded_already"]]
    with dg.DagsterInstance.get() as instance:
        assert len(materializations(instance, merged_key(badscore))) == merged_events


def test_text_report_names_what_and_why(yd_home, dagster_home, catalog, capsys):
    store = LocalObjectStore(yd_home / "objects")
    prefill(store)
    assert cli.main(["adopt", "--dataset", "pdd/badscore"]) == 0
    out = capsys.readouterr().out
    assert "pdd/badscore" in out and "2025-09-01" in out and "7 rows" in out
    assert "unreadable parquet" in out
    assert "pdd_kpi_weekly" not in out.split("not adopted")[0]  # only the chosen dataset is adopted
    assert "dry run: nothing written or recorded" in out
