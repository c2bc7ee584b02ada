"""Reading the current user_tags from MariaDB: the JDBC read splits into more partitions
as the table grows, and every row comes back once."""

from datetime import datetime

import pytest

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.tables import ensure_tables, save_tag
from yd_platform.tags.write import current
from yd_platform.tags.write.write_user_tags import write_user_tags

pytestmark = pytest.mark.slow

RULE = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">", "value": 0, "type": "number"}]}


def test_partition_count_grows_with_the_ids():
    assert current.read_partitions(None, None, 2) == 2
    assert current.read_partitions(1, 10, 2) == 2
    rows = current.JDBC_PARTITION_ROWS
    assert current.read_partitions(1, 10 * rows, 2) == 10
    assert current.read_partitions(1, 10 * rows + 1, 2) == 11


def test_jdbc_read_is_split_by_row_count(mysql_url, spark, tmp_path, monkeypatch):
    engine = AppDatabaseResource(url=mysql_url).engine()
    ensure_tables(engine)
    save_tag(engine, 3, "高频咨询", RULE, category="行为分析")
    users = [f"u{i:02d}" for i in range(10)]
    found = spark.createDataFrame([(u, [3]) for u in users], "user_id string, tag_ids array<int>")
    write_user_tags(spark, engine, found, [3], now=datetime(2025, 10, 1, 8))
    monkeypatch.setattr(current, "JDBC_PARTITION_ROWS", 3)

    frame = current.current_user_tags(spark, engine, tmp_path)

    assert frame.rdd.getNumPartitions() == 4
    assert sorted(r.user_id for r in frame.collect()) == users
    engine.dispose()


def test_shipped_spark_settings_coalesce_shuffle_partitions(spark):
    assert int(spark.conf.get("spark.sql.shuffle.partitions")) >= 64
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    assert spark.conf.get("spark.sql.adaptive.coalescePartitions.enabled") == "true"
