"""The shipped tags on the demo users, end to end on the embedded default: demo-data fills
the warehouse, the dw datasets go through the stages' own functions (warehouse
collector, raw file, merge, ODS publish; the Dagster wiring of those stages is tested
with the pipeline), the seed is loaded, and user_tags_job runs the real Spark engine.
Each tag's users are checked against the same rule written by hand in DuckDB SQL over
the ODS parquet."""

from datetime import date, timedelta

import duckdb
import pytest

from yd_platform.catalog.periods import period_from_key
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.platforms.warehouse import WarehouseCollector
from yd_platform.collect.raw_asset import store_raw
from yd_platform.definitions import build_definitions
from yd_platform.deployment import app_db_url
from yd_platform.merge.merger import merge_partition
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.warehouse_db import warehouse_url
from yd_platform.tables.ods import publish_partition
from yd_platform.tags.config import load_tags_config
from yd_platform.tags.seed.demo_data import feature_tables, write_demo_data
from yd_platform.tags.seed.shipped import apply_seed
from yd_platform.tags.tables import read_user_tags

pytestmark = pytest.mark.slow

TODAY = date(2025, 10, 2)

# tag id -> (table, the rule as SQL); {today} is the run's day
EXPECTED_SQL = {
    1: ("user_asset_summary", "total_asset_value >= 100000"),
    2: ("user_activity_summary", "trade_count_30d > 10"),
    3: ("user_basic_info", "risk_score <= 30"),
    4: ("user_basic_info", "registration_date between date '{today}' - interval 30 day and date '{today}'"),
    5: ("user_basic_info", "user_level in ('VIP2', 'VIP3') and kyc_status = 'verified'"),
    6: ("user_asset_summary", "cash_balance >= 50000"),
    7: ("user_basic_info", "age between 18 and 30"),
    8: ("user_activity_summary", "last_login_date between date '{today}' - interval 7 day and date '{today}'"),
}


def publish(catalog, day: date, tables: list[str] | None = None) -> None:
    store = object_store_from_env().client()
    key = day.isoformat()
    for name, ds in feature_tables(catalog).items():
        if tables and name not in tables:
            continue
        got = WarehouseCollector().collect(CollectJob(ds, period_from_key(ds.cadence, key), "dw_main", "dw"))
        store_raw(store, ds, key, "dw_main", got.data, got.report.ext)
        merge_partition(store, ds, key)
        publish_partition(store, ds, key)


def expected_users(yd_home, tag_id: int) -> set[str]:
    table, where = EXPECTED_SQL[tag_id]
    files = f"{yd_home}/objects/ods/dw/{table}/dt={TODAY.isoformat()}/*.parquet"
    sql = f"select user_id from read_parquet('{files}') where {where.format(today=TODAY.isoformat())}"
    return {row[0] for row in duckdb.sql(sql).fetchall()}


def test_seed_tags_match_their_rules_on_the_demo_users(yd_home, catalog, instance, spark):
    # an older snapshot with other values: the tags must read only the newest partition
    write_demo_data(warehouse_url(), catalog, users=300, seed=7, today=TODAY - timedelta(days=1))
    publish(catalog, TODAY - timedelta(days=1), ["user_basic_info"])
    write_demo_data(warehouse_url(), catalog, users=400, seed=11, today=TODAY)
    publish(catalog, TODAY)

    engine = engine_for(app_db_url())
    apply_seed(engine, load_tags_config(catalog=catalog).seed)
    result = build_definitions(catalog).resolve_job_def("user_tags_job").execute_in_process(
        run_config={"ops": {"user_tags": {"config": {"today": TODAY.isoformat()}}}}, instance=instance)
    assert result.success
    (mat,) = result.asset_materializations_for_node("user_tags")
    assert mat.metadata["evaluated_tag_ids"].value == "1, 2, 3, 4, 5, 6, 7, 8"
    assert mat.metadata["invalid_rules"].value == 0

    rows = read_user_tags(engine)
    for tag_id in EXPECTED_SQL:
        expected = expected_users(yd_home, tag_id)
        got = {user for user, row in rows.items() if tag_id in row["tag_ids"]}
        assert 0 < len(expected) < 400, f"tag {tag_id}: the demo data should hit some users, not all"
        assert got == expected, f"tag {tag_id}: extra {sorted(got - expected)[:5]}, missing {sorted(expected - got)[:5]}"

    # the users on the thresholds (demo_data.EDGES)
    assert rows["user_000001"]["tag_ids"] == [1, 3, 4, 5, 6, 7, 8]
    assert rows["user_000002"]["tag_ids"] == [2, 7]
    assert rows["user_000001"]["tag_details"]["5"] == {"tag_name": "VIP客户"}
    assert not rows.get("user_000005", {}).get("tag_ids")  # no values, no tags
