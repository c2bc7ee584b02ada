"""Dremio metadata refresh and the old-shape views against a fake of its REST API,
including the error cases."""

import pytest

from yd_platform.resources.dremio import (
    DremioAuthError,
    DremioClient,
    DremioDatasetMissing,
    DremioError,
    DremioTimeout,
    bootstrap_from_env,
    dremio_path,
)
from yd_platform.resources.table_engine import TableEngineResource, table_engine_from_env
from yd_platform.tables.refresh import refresh_table
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS
from yd_platform_tests.tables.fake_dremio import FakeDremio, serve

TABLE = "yd.warehouse.ods.pdd.pdd_badscore"           # the typed table: the promoted folder of source yd
QUOTED = '"yd"."warehouse"."ods"."pdd"."pdd_badscore"'
OLD = "minio.warehouse.ods.pdd.pdd_badscore"           # the old-shape view in the space minio
OLD_QUOTED = '"minio"."warehouse"."ods"."pdd"."pdd_badscore"'


@pytest.fixture
def dremio():
    fake = FakeDremio(known_tables={QUOTED})
    fake.sources["yd"] = {"name": "yd", "type": "S3"}
    url, server = serve(fake)
    yield fake, url
    server.shutdown()
    server.server_close()


def _client(url, **kw):
    kw.setdefault("user", "etl")
    kw.setdefault("password", "s3cret")
    return DremioClient(url, poll_seconds=0.01, timeout_seconds=EVENT_DEADLINE_SECONDS, **kw)


def test_refresh_polls_until_completed(dremio):
    fake, url = dremio
    job = _client(url).refresh_metadata(TABLE)
    assert job.state == "COMPLETED"
    assert fake.sql_seen == [f"ALTER TABLE {QUOTED} REFRESH METADATA AUTO PROMOTION"]
    assert fake.jobs[job.id]["polls"] == 2


def _engine(url, **kw) -> TableEngineResource:
    kw.setdefault("dremio_password", "s3cret")
    return TableEngineResource(engine="dremio", dremio_url=url, dremio_user="etl", dremio_poll_seconds=0.01, **kw)


def test_refresh_through_the_resource_does_metadata_then_reflections(dremio, catalog):
    fake, url = dremio
    engine = _engine(url, dremio_promote=False)
    ds = catalog.dataset("pdd", "badscore")
    assert ds.table == OLD  # the name the old system's Dremio views read
    meta = refresh_table(engine, ds, {"2025-10-01": 3}, object_store=None)
    assert meta["engine"] == "dremio" and meta["refresh_sql"] == f"ALTER TABLE {QUOTED} REFRESH METADATA"
    assert meta["reflections_refreshed"] == "pdd_badscore_raw"
    [created] = fake.reflections  # the table had none: a raw reflection over every column
    assert created["type"] == "RAW" and created["datasetId"] == fake.dataset_id(QUOTED)
    assert created["displayFields"] == [{"name": "shop_id"}, {"name": "order_id"}, {"name": "dt"}]
    assert fake.refreshed == [fake.dataset_id(QUOTED)]
    sql_done = fake.calls.index("POST /api/v3/sql")
    assert sql_done < fake.calls.index(f"POST /api/v3/catalog/{fake.dataset_id(QUOTED)}/refresh")

    refresh_table(engine, ds, {"2025-10-02": 3}, object_store=None)  # next time: the same reflection refreshed
    assert len(fake.reflections) == 1 and fake.refreshed == [fake.dataset_id(QUOTED)] * 2


def test_the_old_name_is_a_view_in_the_old_shape(dremio, catalog):
    fake, url = dremio
    ds = catalog.dataset("pdd", "badscore")
    meta = refresh_table(_engine(url), ds, {"2025-10-01": 3}, object_store=None)

    assert meta["old_shape_view"] == OLD and meta["old_shape_view_replaced"] is True
    assert fake.spaces == {"minio"}
    assert fake.folders == {("minio", "warehouse"), ("minio", "warehouse", "ods"), ("minio", "warehouse", "ods", "pdd")}
    [sql] = fake.view_sql
    assert sql.startswith(f"CREATE OR REPLACE VIEW {OLD_QUOTED} AS SELECT CASE \"shop_id\" ")
    assert sql.endswith(f'"dt" FROM {QUOTED}')  # over the typed table's files, no copy
    assert "WHEN 'pdd_flagship' THEN '拼多多旗舰店'" in sql and 'ELSE "shop_id" END AS "shop"' in sql
    # the report's headers (first aliases), in catalog order, as text with '' for empty cells
    headers = ['"订单号"', '"商品ID"', '"评分"', '"评价内容"', '"商品名称"', '"商品链接"', '"图片"']
    positions = [sql.index(f" AS {h}") for h in headers]
    assert positions == sorted(positions)
    assert """COALESCE(CAST("score" AS VARCHAR), '') AS "评分\"""" in sql
    assert """COALESCE("content", '') AS "评价内容\"""" in sql

    again = refresh_table(_engine(url), ds, {"2025-10-02": 3}, object_store=None)
    assert again["old_shape_view_replaced"] is False and len(fake.view_sql) == 1  # same SQL: left alone

    fake.views[OLD_QUOTED] = "SELECT 1"  # changed by hand or by an older catalog: put back
    assert refresh_table(_engine(url), ds, {"2025-10-02": 3}, object_store=None)["old_shape_view_replaced"] is True
    assert fake.views[OLD_QUOTED] == sql.split(" AS ", 1)[1]


def test_old_shape_view_of_dates_and_times_in_dremio_sql(dremio, catalog):
    fake, url = dremio
    ds = catalog.dataset("tm", "badscore")
    fake.known_tables.add('"yd"."warehouse"."ods"."tm"."tm_badscore"')
    refresh_table(_engine(url), ds, {"2025-10-01": 1}, object_store=None)
    [sql] = fake.view_sql
    assert """COALESCE(TO_CHAR("review_time", 'YYYY-MM-DD HH24:MI:SS'), '') AS "评价时间\"""" in sql
    assert """COALESCE(CAST("stat_date" AS VARCHAR), '') AS "统计日期\"""" in sql


def test_a_source_named_like_the_old_space_is_named_in_the_error(dremio, catalog):
    fake, url = dremio
    fake.sources["minio"] = {"name": "minio", "type": "S3"}  # the old layout: the tables' folders in source minio
    fake.known_tables.add(OLD_QUOTED)
    with pytest.raises(DremioError, match=r"source at minio, where the old-shape views need a space; the S3 "
                                          r"source must be called 'yd': delete the source 'minio'"):
        refresh_table(_engine(url), catalog.dataset("pdd", "badscore"), {"2025-10-01": 3}, object_store=None)
    assert fake.view_sql == []


def test_a_view_over_a_table_dremio_does_not_know_fails(dremio, catalog):
    fake, url = dremio
    fake.known_tables.add('"yd"."warehouse"."ods"."pdd"."pdd_quality"')  # promoted, but the view names another
    client = DremioClient(url, "etl", "s3cret", poll_seconds=0.01, timeout_seconds=EVENT_DEADLINE_SECONDS)
    with pytest.raises(DremioDatasetMissing, match="not found"):
        client.ensure_view("minio.warehouse.ods.pdd.x", 'SELECT 1 AS "a" FROM "yd"."nope"')


def test_reflections_of_an_unknown_table(dremio):
    _, url = dremio
    with pytest.raises(DremioDatasetMissing, match="does not know the dataset minio.warehouse.ods.pdd.nope"):
        _client(url).refresh_reflections("minio.warehouse.ods.pdd.nope")


def test_personal_access_token(dremio):
    fake, url = dremio
    fake.personal_tokens.add("pat-123")
    job = _client(url, user="", password="", token="pat-123").refresh_metadata(TABLE)
    assert job.state == "COMPLETED" and fake.tokens == set()  # no password login happened
    with pytest.raises(DremioAuthError, match="token is invalid") as err:
        _client(url, user="", password="", token="pat-wrong").refresh_metadata(TABLE)
    assert "pat-wrong" not in str(err.value)


def test_wrong_password(dremio):
    _, url = dremio
    with pytest.raises(DremioAuthError, match="rejected the login of user 'etl'") as err:
        _client(url, password="wrong").refresh_metadata(TABLE)
    assert "wrong" not in str(err.value)


def test_missing_dataset(dremio):
    _, url = dremio
    with pytest.raises(DremioDatasetMissing, match=r"does not know the dataset .*not found"):
        _client(url).refresh_metadata("minio.warehouse.ods.pdd.nope")


def test_timeout(dremio):
    fake, url = dremio
    fake.never_finishes = True
    client = DremioClient(url, "etl", "s3cret", timeout_seconds=0.2, poll_seconds=0.05)
    with pytest.raises(DremioTimeout, match=r"still RUNNING after 0.2s"):
        client.refresh_metadata(TABLE)


def test_unreachable_and_unconfigured():
    with pytest.raises(DremioError, match="not reachable"):
        DremioClient("http://127.0.0.1:9", "etl", "x", timeout_seconds=1).refresh_metadata(TABLE)
    with pytest.raises(DremioAuthError, match="YD_DREMIO_USER"):
        DremioClient("http://127.0.0.1:9")


def test_engine_from_env(monkeypatch):
    monkeypatch.setenv("YD_TABLE_ENGINE", "dremio")
    monkeypatch.setenv("YD_DREMIO_URL", "http://dremio:9047")
    monkeypatch.setenv("YD_DREMIO_USER", "etl")
    monkeypatch.setenv("YD_DREMIO_PASSWORD", "pw")
    engine = table_engine_from_env()
    assert engine.engine == "dremio" and engine.dremio_url == "http://dremio:9047"
    monkeypatch.setenv("YD_TABLE_ENGINE", "spark")
    with pytest.raises(ValueError, match="use 'duckdb' or 'dremio'"):
        table_engine_from_env()


def test_dremio_path_quotes_each_part():
    assert dremio_path(TABLE) == QUOTED


def test_ods_stage_refreshes_dremio(dremio, catalog, instance, tmp_path):
    from yd_platform.resources.object_store import LocalObjectStore, ObjectStoreResource
    from yd_platform_tests.dagster_events import materialization
    from yd_platform_tests.dataset_assets import publish
    from yd_platform_tests.object_files import put_raw, review_rows, xlsx

    fake, url = dremio
    ds = catalog.dataset("pdd", "badscore")
    put_raw(LocalObjectStore(tmp_path), ds, "2025-10-01", "s", xlsx(review_rows("a", 2)))
    store = ObjectStoreResource(backend="local", root=str(tmp_path))

    ok = publish(ds, "2025-10-01", {"object_store": store, "table_engine": _engine(url)}, instance)
    assert ok.success
    meta = materialization(ok, "ods")
    assert meta["refresh_job"] in fake.jobs and meta["reflections_refreshed"] == "pdd_badscore_raw"

    wrong_password = _engine(url, dremio_password="nope")
    bad = publish(ds, "2025-10-01", {"object_store": store, "table_engine": wrong_password}, instance)
    assert not bad.success
    failure = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"][0]
    description = failure.step_failure_data.user_failure_data.description
    assert "partitions written, but refreshing the table failed" in description
    assert "rejected the login" in description and "nope" not in description


def test_the_stacks_dremio_is_set_up_once(dremio, monkeypatch):
    fake, url = dremio
    fake.fresh = True  # a new Dremio: no user, no source
    fake.sources.clear()
    for name, value in {"YD_DEPLOYMENT": "production", "YD_DREMIO_URL": url, "YD_DREMIO_USER": "yd",
                        "YD_DREMIO_PASSWORD": "pw-1", "YD_MINIO_ENDPOINT": "minio:9000", "YD_MINIO_ACCESS_KEY": "ak",
                        "YD_MINIO_SECRET_KEY": "sk", "YD_MINIO_BUCKET": "warehouse"}.items():
        monkeypatch.setenv(name, value)
    assert bootstrap_from_env() == ["created the first user yd", "created the source yd", "created the space minio"]
    config = fake.sources["yd"]["config"]
    assert config["whitelistedBuckets"] == ["warehouse"] and {"name": "fs.s3a.endpoint", "value": "minio:9000"} \
        in config["propertyList"]
    assert config["isPartitionInferenceEnabled"] is True  # `dt` from the dt= folders, as the views filter on it
    assert bootstrap_from_env() == []  # a restart changes nothing
    monkeypatch.setenv("YD_DREMIO_PASSWORD", "other")
    with pytest.raises(DremioAuthError, match="would not create it as its first user"):
        bootstrap_from_env()


def test_the_stacks_dremio_with_the_old_source_name_says_what_to_do(dremio, monkeypatch):
    fake, url = dremio
    fake.sources["minio"] = {"name": "minio", "type": "S3"}
    for name, value in {"YD_TABLE_ENGINE": "dremio", "YD_DREMIO_URL": url, "YD_DREMIO_USER": "etl",
                        "YD_DREMIO_PASSWORD": "s3cret", "YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": "minio:9000",
                        "YD_MINIO_ACCESS_KEY": "ak", "YD_MINIO_SECRET_KEY": "sk"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(DremioError, match=r"delete the source 'minio' in Dremio \(its files stay where they are\)"):
        bootstrap_from_env()
    assert fake.spaces == set()
