"""The shops sensors keep each platform's shop partitions in step with the shop source:
the catalog, or the old MariaDB shop tables (added and removed shops, a missing table)."""

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.definitions import build_definitions
from yd_platform.resources.shops import ShopSourceError, ShopSourceResource


def _evaluate(defs, instance, name, resources):
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return sensor(context)


def _apply(instance, result):
    for req in result.dynamic_partitions_requests:
        if isinstance(req, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        else:
            for key in req.partition_keys:
                instance.delete_dynamic_partition(req.partitions_def_name, key)


def test_config_source_adds_shops_then_skips(catalog, instance):
    defs = build_definitions(catalog)
    source = {"shop_source": ShopSourceResource(source="config")}
    result = _evaluate(defs, instance, "tm__shops_sync", source)
    assert isinstance(result, dg.SensorResult)
    (req,) = result.dynamic_partitions_requests
    assert req.partitions_def_name == "tm_shops"
    assert sorted(req.partition_keys) == ["tm_flagship", "tm_home"]
    _apply(instance, result)
    again = _evaluate(defs, instance, "tm__shops_sync", source)
    assert isinstance(again, dg.SkipReason)


def test_mysql_source_adds_and_removes(catalog, instance, mysql_url):
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE pdd_shops (shop_id VARCHAR(64) PRIMARY KEY, shop_name VARCHAR(128),"
            " account VARCHAR(64), active BOOLEAN NOT NULL DEFAULT TRUE)"))
        conn.execute(sa.text(
            "INSERT INTO pdd_shops VALUES ('s1','店一','a1',1),('s2','店二','a2',1),('s3','店三','a3',0)"))
    defs = build_definitions(catalog)
    source = {"shop_source": ShopSourceResource(source="mysql", db_url=mysql_url)}
    result = _evaluate(defs, instance, "pdd__shops_sync", source)
    _apply(instance, result)
    assert sorted(instance.get_dynamic_partitions("pdd_shops")) == ["s1", "s2"]

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE pdd_shops SET active = 0 WHERE shop_id = 's1'"))
        conn.execute(sa.text("INSERT INTO pdd_shops VALUES ('s4','店四','a4',1)"))
    result = _evaluate(defs, instance, "pdd__shops_sync", source)
    kinds = {type(r).__name__: sorted(r.partition_keys) for r in result.dynamic_partitions_requests}
    assert kinds == {"AddDynamicPartitionsRequest": ["s4"], "DeleteDynamicPartitionsRequest": ["s1"]}
    _apply(instance, result)
    assert sorted(instance.get_dynamic_partitions("pdd_shops")) == ["s2", "s4"]
    engine.dispose()


def test_missing_mysql_table_is_named(catalog, mysql_url):
    with pytest.raises(ShopSourceError, match="shops table 'jd_shops' does not exist"):
        ShopSourceResource(source="mysql", db_url=mysql_url).active_shops(catalog, "jd")
