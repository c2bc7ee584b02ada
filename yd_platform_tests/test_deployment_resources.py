"""Every outside system's resource from the deployment's variables: production names all
it lacks in one error, takes an embedded stand-in only when a variable chooses it, and
registers `EnvVar` fields; commands get the values."""

from __future__ import annotations

import dagster as dg
import pytest

from yd_platform.deployment import DeploymentError, MissingVariables, Variables, app_db_url
from yd_platform.deployment_resources import missing_variables, resources_for
from yd_platform.resources.metabase import metabase_for
from yd_platform.resources.object_store import object_store_for, object_store_from_env
from yd_platform.resources.spark import spark_from_env
from yd_platform_tests.test_deployment import example_env


@pytest.fixture
def production(yd_home, monkeypatch) -> dict[str, str]:
    """The example production set in the environment (nothing reached: building only)."""
    env = example_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_one_error_names_every_missing_variable_and_what_it_is_for(production, monkeypatch):
    for name in ("YD_MINIO_ENDPOINT", "YD_APP_DB_URL", "YD_METABASE_API_KEY", "YD_SPARK_MASTER"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("YD_TABLE_ENGINE", "spark")
    with pytest.raises(MissingVariables) as raised:
        resources_for()
    error = raised.value
    assert list(error.missing) == ["YD_MINIO_ENDPOINT", "YD_APP_DB_URL",
                                   "YD_METABASE_API_KEY (or YD_METABASE_USER and YD_METABASE_PASSWORD)",
                                   "YD_SPARK_MASTER"]
    text = str(error)
    assert "YD_MINIO_ENDPOINT: object store: the S3 endpoint, host:port" in text
    assert "YD_APP_DB_URL: app database: SQLAlchemy URL" in text
    assert "YD_TABLE_ENGINE: 'spark': use 'duckdb' or 'dremio'" in text


def test_production_never_falls_back_to_an_embedded_stand_in(yd_home, monkeypatch):
    monkeypatch.setenv("YD_DEPLOYMENT", "production")
    with pytest.raises(MissingVariables, match="YD_APP_DB_URL"):
        app_db_url()  # not the SQLite file under YD_HOME
    required = missing_variables("production")
    for name in ("YD_MINIO_ENDPOINT", "YD_MINIO_ACCESS_KEY", "YD_MINIO_SECRET_KEY", "YD_MINIO_BUCKET",
                 "YD_DREMIO_URL", "YD_APP_DB_URL", "YD_PORTAL_URL", "YD_WAREHOUSE_URL", "YD_PMS_DB_URL",
                 "YD_METABASE_URL", "YD_SPARK_MASTER", "YD_UI_URL"):
        assert name in required and required[name], name


def test_production_takes_a_stand_in_chosen_explicitly(production, monkeypatch):
    for name in ("YD_MINIO_ENDPOINT", "YD_MINIO_ACCESS_KEY", "YD_MINIO_SECRET_KEY", "YD_MINIO_BUCKET",
                 "YD_METABASE_API_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("YD_OBJECT_STORE", "local")
    monkeypatch.setenv("YD_METABASE_URL", "demo")
    monkeypatch.setenv("YD_SHOPS_SOURCE", "config")
    resources = resources_for()
    assert resources["object_store"].backend == "local"
    assert resources["incentives_metabase"].url == "" and not resources["incentives_metabase"].enabled
    assert resources["shop_source"].source == "config"


def test_registered_fields_name_the_variable_and_commands_get_the_value(production):
    registered = object_store_for(Variables())
    assert isinstance(registered.secret_key, dg.EnvVar) and registered.secret_key == "YD_MINIO_SECRET_KEY"
    assert object_store_from_env().secret_key == production["YD_MINIO_SECRET_KEY"]
    spark = spark_from_env()  # a nested object store is resolved too
    assert spark.master == production["YD_SPARK_MASTER"]
    assert spark.object_store.s3a_credentials()["fs.s3a.secret.key"] == production["YD_MINIO_SECRET_KEY"]
    assert not any("secret" in key or "access.key" in key for key in spark.s3a_settings())
    assert spark.s3a_settings()["spark.hadoop.fs.s3a.endpoint"] == f"http://{production['YD_MINIO_ENDPOINT']}"


def test_the_embedded_default_keeps_todays_choices(yd_home, monkeypatch):
    for name in ("YD_METABASE_URL", "YD_PORTAL_URL", "YD_SPARK_MASTER", "YD_UI_URL", "YD_PMS_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    resources = resources_for()
    assert resources["object_store"].root == str(yd_home / "objects")
    assert resources["app_db"].url == f"sqlite:///{yd_home / 'app.db'}"
    assert resources["pms_db"].url == f"sqlite:///{yd_home / 'pms.db'}"
    assert resources["collector"].warehouse_url == f"sqlite:///{yd_home / 'warehouse.db'}"
    assert resources["shop_source"].source == "config" and resources["table_engine"].engine == "duckdb"
    assert not resources["incentives_metabase"].enabled and resources["spark"].master == ""
    assert resources["dagster_webserver"].url == "http://127.0.0.1:3000"
    monkeypatch.setenv("YD_OBJECT_STORE", "minio")  # a variable still chooses the outside system
    assert resources_for()["object_store"].endpoint == "127.0.0.1:9000"


def test_an_unknown_deployment_is_named(monkeypatch):
    monkeypatch.setenv("YD_DEPLOYMENT", "staging")
    with pytest.raises(DeploymentError, match="YD_DEPLOYMENT='staging': use embedded or production"):
        resources_for()


def test_metabase_with_a_url_needs_a_key_or_a_login_in_production():
    variables = Variables("production", environ={"YD_METABASE_URL": "https://mb.example.com",
                                                 "YD_METABASE_USER": "ops"})
    metabase_for(variables)
    assert list(variables.missing) == ["YD_METABASE_API_KEY (or YD_METABASE_USER and YD_METABASE_PASSWORD)"]
