"""Shared fixtures: an isolated YD_HOME, a Dagster instance, a scratch MariaDB database.

Tests talk to real parts. MariaDB is expected at 127.0.0.1:3306 (root, no password)
unless YD_TEST_MYSQL_URL points elsewhere (a server URL without database name).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.catalog import Catalog, load_catalog
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform_tests.processes import free_port

MYSQL_SERVER_URL = os.environ.get("YD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


@pytest.fixture
def yd_home(tmp_path, monkeypatch) -> Iterator[os.PathLike]:
    """A fresh embedded-default data folder, with every production switch unset."""
    home = tmp_path / "yd_home"
    home.mkdir()
    monkeypatch.setenv("YD_HOME", str(home))
    for name in ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A scratch database on the real MariaDB server, dropped afterwards."""
    name = f"yd_test_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(MYSQL_SERVER_URL)
    try:
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"MariaDB at {MYSQL_SERVER_URL} is not reachable: {exc}")
    try:
        yield f"{MYSQL_SERVER_URL}/{name}?charset=utf8mb4"
    finally:
        with server.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()



@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) on 127.0.0.1; yields its `host:port` endpoint.

    Any access/secret key is accepted. Use it with tests marked `slow`.
    """
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def minio_store(s3_server) -> ObjectStoreResource:
    """The MinIO backend of the object store on a fresh bucket of the loopback S3 server."""
    resource = ObjectStoreResource(backend="minio", endpoint=s3_server, access_key="testing",
                                   secret_key="testing-secret", bucket=f"test-{uuid.uuid4().hex[:12]}",
                                   secure=False, region="us-east-1")
    resource.client()  # creates the bucket
    return resource
