"""Dremio metadata refresh against a fake of its REST API, including the error cases."""

import pytest

from yd_platform.tables.dremio import (DremioAuthError, DremioClient, DremioDatasetMissing, DremioError,
                                       DremioTimeout, bootstrap_from_env, dremio_path)
from yd_platform.tables.engine import TableEngineResource, table_engine_from_env
from yd_platform_tests.tables.fake_dremio import FakeDremio, serve

TABLE = "minio.warehouse.ods.pdd.pdd_badscore"
QUOTED = '"minio"."warehouse"."ods"."pdd"."pdd_badscore"'


@pytest.fixture
def dremio():
    fake = FakeDremio(known_tables={QUOTED})
    url, server = serve(fake)
    yield fake, url
    server.shutdown()
    server.server_close()


def _client(url, **kw):
    kw.setdefault("user", "etl")
    kw.setdefault("password", "s3cret")
    return DremioClient(url, poll_seconds=0.01, timeout_seconds=5, **kw)


def test_refresh_polls_until_completed(dremio):
    fake, url = dremio
    job = _client(url).refresh_metadata(TABLE)
    assert job.state == "COMPLETED"
    assert fake.sql_seen == [f"ALTER TABLE {QUOTED} REFRESH METADATA AUTO PROMOTION"]
    assert fake.jobs[job.id]["polls"] == 2


def test_refresh_through_the_resource_does_metadata_then_reflections(dremio, catalog):
    fake, url = dremio
    engine = TableEngineResource(engine="dremio", dremio_url=url, dremio_user="etl", dremio_password="s3cret",
                                 dremio_promote=False, dremio_poll_seconds=0.01)
    ds = catalog.dataset("pdd", "badscore")
    assert ds.table == TABLE  # the name the old system's Dremio views read
    meta = engine.refresh(ds, {"2025-10-01": 3}, object_store=None)
    assert meta["engine"] == "dremio" and meta["refresh_sql"] == f"ALTER TABLE {QUOTED} REFRESH METADATA"
    assert meta["reflections_refreshed"] == "pdd_badscore_raw"
    [created] = fake.reflections  # the table had none: a raw reflection over every column
    assert created["type"] == "RAW" and created["datasetId"] == fake.dataset_id(QUOTED)
    assert created["displayFields"] == [{"name": "shop_id"}, {"name": "order_id"}, {"name": "dt"}]
    assert fake.refreshed == [fake.dataset_id(QUOTED)]
    sql_done = fake.calls.index("POST /api/v3/sql")
    assert sql_done < fake.calls.index(f"POST /api/v3/catalog/{fake.dataset_id(QUOTED)}/refresh")

    engine.refresh(ds, {"2025-10-02": 3}, object_store=None)  # next time: the same reflection refreshed
    assert len(fake.reflections) == 1 and fake.refreshed == [fake.dataset_id(QUOTED)] * 2


def test_reflections_of_an_unknown_table(dremio):
    _, url = dremio
    with pytest.raises(DremioDatasetMissing, match="does not know the dataset minio.warehouse.ods.pdd.nope"):
        _client(url).refresh_reflections("minio.warehouse.ods.pdd.nope")


def test_personal_access_token(dremio):
    fake, url = dremio
    fake.personal_tokens.add("pat-123")
    job = DremioClient(url, token="pat-123", poll_seconds=0.01, timeout_seconds=5).refresh_metadata(TABLE)
    assert job.state == "COMPLETED" and fake.tokens == set()  # no password login happened
    with pytest.raises(DremioAuthError, match="token is invalid") as err:
        DremioClient(url, token="pat-wrong", poll_seconds=0.01, timeout_seconds=5).refresh_metadata(TABLE)
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
    from yd_platform_tests.merge.files import materialization, publish, put_raw, review_rows, xlsx

    fake, url = dremio
    ds = catalog.dataset("pdd", "badscore")
    put_raw(LocalObjectStore(tmp_path), ds, "2025-10-01", "s", xlsx(review_rows("a", 2)))
    store = ObjectStoreResource(backend="local", root=str(tmp_path))

    def engine(password: str) -> TableEngineResource:
        return TableEngineResource(engine="dremio", dremio_url=url, dremio_user="etl", dremio_password=password,
                                   dremio_poll_seconds=0.01)

    ok = publish(ds, "2025-10-01", {"object_store": store, "table_engine": engine("s3cret")}, instance)
    assert ok.success
    meta = materialization(ok, "ods", ds).metadata
    assert meta["refresh_job"].value in fake.jobs and meta["reflections_refreshed"].value == "pdd_badscore_raw"

    bad = publish(ds, "2025-10-01", {"object_store": store, "table_engine": engine("nope")}, instance)
    assert not bad.success
    failure = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"][0]
    description = failure.step_failure_data.user_failure_data.description
    assert "partitions written, but refreshing the table failed" in description
    assert "rejected the login" in description and "nope" not in description


def test_the_stacks_dremio_is_set_up_once(dremio, monkeypatch):
    fake, url = dremio
    fake.fresh = True  # a new Dremio: no user, no source
    for name, value in {"YD_DREMIO_URL": url, "YD_DREMIO_USER": "yd", "YD_DREMIO_PASSWORD": "pw-1",
                        "YD_MINIO_ENDPOINT": "minio:9000", "YD_MINIO_ACCESS_KEY": "ak", "YD_MINIO_SECRET_KEY": "sk",
                        "YD_MINIO_BUCKET": "warehouse"}.items():
        monkeypatch.setenv(name, value)
    assert bootstrap_from_env() == ["created the first user yd", "created the source minio"]
    config = fake.sources["minio"]["config"]
    assert config["whitelistedBuckets"] == ["warehouse"] and {"name": "fs.s3a.endpoint", "value": "minio:9000"} \
        in config["propertyList"]
    assert bootstrap_from_env() == []  # a restart changes nothing
    monkeypatch.setenv("YD_DREMIO_PASSWORD", "other")
    with pytest.raises(DremioAuthError, match="would not create it as its first user"):
        bootstrap_from_env()
