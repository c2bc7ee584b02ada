"""The shop source on MariaDB with the old system's shop tables, keyed by `shop_name`
alone: the old columns are mapped onto the platform's shop model without a new column."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.collect.shops_sensor import build_shops_sensor
from yd_platform.resources.shops import ShopSourceError, ShopSourceResource, derived_shop_id

pytestmark = pytest.mark.slow

# tm_shops as the old cookie job used it: shop_name is the key, `status` is the daily
# cookie state (empty, active, 已完成), credentials and cookies beside it
TM_SHOPS = """
CREATE TABLE tm_shops (
  shop_name VARCHAR(255) NOT NULL PRIMARY KEY,
  account VARCHAR(255), password VARCHAR(255), profile VARCHAR(255),
  qncookie TEXT, sycmcookie TEXT, userNick VARCHAR(255), reportTemplateId VARCHAR(32),
  status VARCHAR(20) NULL,
  update_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) DEFAULT CHARSET=utf8mb4
"""
PDD_SHOPS = """
CREATE TABLE pdd_shops (
  shop_name VARCHAR(255) NOT NULL PRIMARY KEY,
  cookie TEXT,
  status ENUM('active', 'inactive') DEFAULT 'active'
) DEFAULT CHARSET=utf8mb4
"""


@pytest.fixture
def old_shop_tables(mysql_url):
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(sa.text(TM_SHOPS))
        conn.execute(sa.text(PDD_SHOPS))
        conn.execute(sa.text(
            "INSERT INTO tm_shops (shop_name, account, password, qncookie, userNick, reportTemplateId, status) VALUES "
            "('天猫旗舰店', 'tm_acc_01', 'secret', 'c=1', 'cntaobao天猫旗舰店:客服01', '7798', '已完成'),"
            "('天猫新开店', 'tm_new_login', 'secret', 'c=2', 'cntaobao天猫新开店:客服01', '9001', NULL),"
            "('天猫关店', 'tm_old', 'secret', NULL, NULL, NULL, 'inactive')"))
        conn.execute(sa.text("INSERT INTO pdd_shops (shop_name, cookie, status) VALUES "
                             "('拼多多旗舰店', 'PASS_ID=1', 'active'), ('拼多多老店', 'PASS_ID=2', 'inactive')"))
    engine.dispose()
    return mysql_url


def test_old_tm_shops_map_onto_the_shop_model(old_shop_tables, catalog):
    source = ShopSourceResource(source="mysql", db_url=old_shop_tables)
    shops = {s.id: s for s in source.active_shops(catalog, "tm")}
    new_id = derived_shop_id("tm", "天猫新开店")
    assert sorted(shops) == sorted(["tm_flagship", new_id])   # the closed shop is not active
    flagship = shops["tm_flagship"]                             # the catalog's id for the catalog's name
    assert (flagship.name, flagship.account) == ("天猫旗舰店", "tm_acc_01")
    assert flagship.backend["template_id"] == 7798
    new = shops[new_id]
    assert (new.name, new.account) == ("天猫新开店", "tm_new_login")
    assert new.backend == {"template_id": 9001, "user_nick": "cntaobao天猫新开店:客服01"}
    assert "天猫关店" in {s.name for s in source.all_shops(catalog, "tm")}
    assert source.shop_names(catalog, "tm")[new_id] == "天猫新开店"
    # the derived id is stable: the same name gives the same partition key next time
    assert derived_shop_id("tm", "天猫新开店") == new_id and new_id.startswith("tm_")


def test_old_pdd_shops_become_the_shop_partitions(old_shop_tables, catalog, instance):
    source = ShopSourceResource(source="mysql", db_url=old_shop_tables)
    sensor = build_shops_sensor(catalog, catalog.platforms["pdd"])
    with dg.build_sensor_context(instance=instance, resources={"shop_source": source}) as context:
        result = sensor(context)
    [request] = result.dynamic_partitions_requests
    assert (request.partitions_def_name, list(request.partition_keys)) == ("pdd_shops", ["pdd_flagship"])


def test_a_table_without_shop_id_or_shop_name_is_named(mysql_url, catalog):
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE jd_shops (store VARCHAR(64), profile VARCHAR(255))"))
    engine.dispose()
    with pytest.raises(ShopSourceError, match=r"'jd_shops' has neither 'shop_id' nor 'shop_name' \(columns: store, profile\)"):
        ShopSourceResource(source="mysql", db_url=mysql_url).active_shops(catalog, "jd")
