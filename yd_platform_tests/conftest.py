"""Fixtures shared by the test packages: an isolated YD_HOME, the catalogs, a Dagster
instance and the code location's definitions, the app database on SQLite or on the real
MariaDB, the fake group robot, a clock moved by hand, a loopback S3 server, Chromium, and
the incentives and PMS stages' scratch set-ups (used by the cutover tests too).

Tests talk to real parts; the MariaDB server and its scratch databases: `yd_platform_tests.databases`.
Fixtures only one package uses stay in that package's conftest.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.catalog import Catalog, load_catalog
from yd_platform.incentives.config import IncentivesConfig, parse_incentives
from yd_platform.pms import schema as pms_schema
from yd_platform.resources.object_store import ObjectStoreResource, object_store_from_env
from yd_platform_tests.browser import SharedChromium
from yd_platform_tests.clock import Clock
from yd_platform_tests.databases import MYSQL_SERVER_URL, app_database, scratch_database
from yd_platform_tests.incentives.helpers import TEST_CONFIG, Runs, robots
from yd_platform_tests.pms.database import Pms, base_rows, fast_sqlite
from yd_platform_tests.processes import free_port, let_children_stop_on_sigterm
from yd_platform_tests.robots import FakeRobot

# The merge tests' own catalog: fixed datasets that do not move with the production aliases.
MERGE_CATALOG = Path(__file__).parent / "merge" / "catalog.yaml"


def pytest_configure(config):
    let_children_stop_on_sigterm()


@pytest.fixture
def yd_home(tmp_path, monkeypatch) -> Iterator[Path]:
    """A fresh embedded-default data folder, with every production switch unset."""
    home = tmp_path / "yd_home"
    home.mkdir()
    monkeypatch.setenv("YD_HOME", str(home))
    for name in ("YD_DEPLOYMENT", "YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def embedded_store(yd_home):
    """The embedded default's object store under `yd_home` (a client): where the code
    location's jobs read and write."""
    return object_store_from_env().client()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (platforms.yaml)."""
    return load_catalog()


@pytest.fixture(scope="session")
def merge_catalog() -> Catalog:
    """The merge tests' fixed catalog (`merge/catalog.yaml`), for tests whose datasets must
    not move with the production aliases."""
    return load_catalog(MERGE_CATALOG)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An ephemeral Dagster instance of its own."""
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def defs(catalog, yd_home) -> dg.Definitions:
    """The code location's definitions over the shipped catalog, on the embedded default."""
    from yd_platform.definitions import build_definitions  # the module builds the location on import

    return build_definitions(catalog)


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A scratch database on the real MariaDB server, dropped afterwards."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database())
        except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
            pytest.fail(f"MariaDB at {MYSQL_SERVER_URL} is not reachable: {exc}")
        yield url


@pytest.fixture
def engine(request, tmp_path) -> Iterator[sa.Engine]:
    """The app database, empty: a SQLite file in the test's folder.

    A test (or a package's conftest) that parametrizes `engine` with "mariadb", indirectly
    (`@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)`) or through a
    fixture of the same name with `params`, gets a scratch database on the real MariaDB.
    """
    with app_database(getattr(request, "param", "sqlite"), tmp_path) as app:
        yield app


@pytest.fixture
def robot() -> Iterator[FakeRobot]:
    """A fake WeCom/DingTalk group robot on 127.0.0.1 (see `yd_platform_tests.robots`)."""
    with FakeRobot() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves by hand (`yd_platform_tests.clock`)."""
    return Clock()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto) on 127.0.0.1, shared by the session; yields its
    `host:port` endpoint (`http://` in front for boto3's endpoint URL).

    Any access/secret key is accepted; each test uses buckets of its own. Use it with
    tests marked `slow`.
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


@pytest.fixture(scope="session")
def chromium_browser():
    """Headless Chromium as the machine has it (never a downloaded browser), one per test
    session, driven from its own thread (`browser.SharedChromium`); each test opens its own context."""
    browser = SharedChromium()
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def cfg() -> IncentivesConfig:
    """The incentives tests' config (`incentives.helpers.TEST_CONFIG`)."""
    return parse_incentives(TEST_CONFIG, source="test-incentives.yaml")


@pytest.fixture
def sqlite_url(yd_home) -> str:
    """The embedded default's app database (SQLite under YD_HOME), for the incentive runs."""
    return f"sqlite:///{Path(yd_home) / 'app.db'}"


@pytest.fixture
def runs(instance, yd_home, sqlite_url, robot, clock) -> Runs:
    """Runs of the incentive assets whose award and SLA robots (YD_TEST_INCENTIVES_URL,
    YD_TEST_SLA_URL) are the fake robot."""
    urls = {"YD_TEST_INCENTIVES_URL": robot.webhook(), "YD_TEST_SLA_URL": robot.webhook()}
    return Runs(instance, Path(yd_home), sqlite_url, robots(urls), clock)


@pytest.fixture(scope="session")
def pms_template(tmp_path_factory) -> str:
    """A PMS database file with the schema and the base rows, copied by `pms`."""
    path = tmp_path_factory.mktemp("pms") / "template.db"
    engine = fast_sqlite(path)
    pms_schema.create_missing(engine)
    base_rows(Pms(engine))
    engine.dispose()
    return str(path)


@pytest.fixture
def pms(tmp_path, yd_home, pms_template) -> Iterator[Pms]:
    """A scratch PMS database (SQLite): a copy of the template, the schema plus the base rows."""
    shutil.copy(pms_template, tmp_path / "pms.db")
    engine = fast_sqlite(tmp_path / "pms.db")
    yield Pms(engine)
    engine.dispose()
