"""`yd-platform doctor` against real parts: stopped services are FAIL with a hint."""

from __future__ import annotations

import json
import shutil
import socket

import pytest

from yd_platform.cli import doctor
from yd_platform.cli import main as cli

REPO_DAGSTER_YAML = doctor.Path(__file__).resolve().parents[2] / "docker" / "dagster.yaml"


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: a stopped service."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stopped_mysql_is_fail_with_hint(closed_port):
    check = doctor.check_app_db(f"mysql+pymysql://yd:s3cret@127.0.0.1:{closed_port}/yd_app")
    assert check.state == doctor.FAIL
    assert f"127.0.0.1:{closed_port}" in check.detail
    assert "s3cret" not in check.line()
    assert "YD_APP_DB_URL" in check.hint and "up -d mysql" in check.hint


def test_embedded_app_db_is_ok(yd_home):
    check = doctor.check_app_db()
    assert check.state == doctor.OK
    assert "SQLite" in check.detail


def test_dagster_instance_on_stopped_mysql(tmp_path, monkeypatch, closed_port):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_DAGSTER_YAML, home / "dagster.yaml")
    for name, value in {
        "DAGSTER_MYSQL_HOST": "127.0.0.1", "DAGSTER_MYSQL_PORT": str(closed_port),
        "DAGSTER_MYSQL_USER": "root", "DAGSTER_MYSQL_PASSWORD": "", "DAGSTER_MYSQL_DB": "dagster",
        "YD_MINIO_BUCKET": "warehouse", "DAGSTER_COMPUTE_LOGS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}",
        "AWS_DEFAULT_REGION": "us-east-1", "YD_DOCKER_NETWORK": "yd_platform",
    }.items():
        monkeypatch.setenv(name, value)
    check = doctor.check_dagster_instance(str(home))
    assert check.state == doctor.FAIL
    assert "DAGSTER_MYSQL_HOST" in check.hint


def test_dagster_instance_names_a_missing_variable(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_DAGSTER_YAML, home / "dagster.yaml")
    monkeypatch.delenv("DAGSTER_MYSQL_HOST", raising=False)
    check = doctor.check_dagster_instance(str(home))
    assert check.state == doctor.FAIL
    assert "DAGSTER_MYSQL_HOST" in check.detail


def test_dagster_instance_on_embedded_sqlite(instance):
    check = doctor.check_dagster_instance(instance.root_directory)
    assert check.state in {doctor.OK, doctor.WARN}  # instance_for_test writes no dagster.yaml file


def test_stopped_minio_is_fail(yd_home, monkeypatch, closed_port):
    monkeypatch.setenv("YD_OBJECT_STORE", "minio")
    monkeypatch.setenv("YD_MINIO_ENDPOINT", f"127.0.0.1:{closed_port}")
    monkeypatch.setenv("YD_MINIO_ACCESS_KEY", "yd")
    monkeypatch.setenv("YD_MINIO_SECRET_KEY", "minio-s3cret")
    check = doctor.check_object_store()
    assert check.state == doctor.FAIL
    assert "up -d s3" in check.hint
    assert "minio-s3cret" not in check.line()


def test_local_object_store_unwritable_is_fail(yd_home):
    (yd_home / "objects").write_text("a file, not a folder")
    check = doctor.check_object_store()
    assert check.state == doctor.FAIL
    assert "YD_HOME" in check.hint


def test_stopped_dremio_is_fail(yd_home, monkeypatch, closed_port):
    monkeypatch.setenv("YD_TABLE_ENGINE", "dremio")
    monkeypatch.setenv("YD_DREMIO_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("YD_DREMIO_USER", "etl")
    monkeypatch.setenv("YD_DREMIO_PASSWORD", "dremio-s3cret")
    check = doctor.check_table_engine()
    assert check.state == doctor.FAIL
    assert f"127.0.0.1:{closed_port}" in check.detail and "not reachable" in check.detail
    assert "up -d dremio" in check.hint
    assert "dremio-s3cret" not in check.line()


def test_duckdb_engine_is_ok(yd_home):
    assert doctor.check_table_engine().state == doctor.OK


def test_stopped_spark_master_is_fail(yd_home, monkeypatch, closed_port):
    monkeypatch.setenv("YD_SPARK_MASTER", f"spark://127.0.0.1:{closed_port}")
    check = doctor.check_spark()
    assert check.state == doctor.FAIL
    assert "spark-master" in check.hint


def test_missing_chromium_is_fail(tmp_path):
    check = doctor.check_chromium(str(tmp_path / "no-chromium"))
    assert check.state == doctor.FAIL
    assert "YD_CHROMIUM" in check.hint


@pytest.mark.slow
def test_installed_chromium_is_ok():
    check = doctor.check_chromium("/usr/bin/chromium")
    assert check.state == doctor.OK
    assert "Chromium" in check.detail


def test_webhooks(monkeypatch):
    from yd_platform.outbox.channel_config import SMTP_HOST_VARIABLE, load_outbox_config

    for channel in load_outbox_config().channels.values():
        for name in (channel.url_env, channel.secret_env, channel.to_env):
            if name:
                monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(SMTP_HOST_VARIABLE, raising=False)
    check = doctor.check_webhooks()
    assert check.state == doctor.WARN
    assert "YD_WECOM_WEBHOOK_URL" in check.hint  # alerts.yaml's channels say which variables

    monkeypatch.setenv("YD_WECOM_WEBHOOK_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-secret")
    check = doctor.check_webhooks()
    assert check.state == doctor.OK
    assert "abc-secret" not in check.line()

    monkeypatch.setenv("YD_DINGTALK_WEBHOOK_URL", "oapi.dingtalk.com/robot/send")
    check = doctor.check_webhooks()
    assert check.state == doctor.FAIL
    assert "YD_DINGTALK_WEBHOOK_URL" in check.detail


def test_command_exits_non_zero_on_fail(yd_home, monkeypatch, closed_port, capsys):
    monkeypatch.setenv("YD_APP_DB_URL", f"mysql+pymysql://root@127.0.0.1:{closed_port}/yd_app")
    code = cli.main(["doctor", "--only", "app-db", "object-store", "table-engine"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("FAIL  app database") and "fix:" in lines[0]
    assert lines[1].startswith("OK    object store")
    assert "1 failed" in out


@pytest.mark.slow
def test_reachable_mysql_is_ok(mysql_url):
    check = doctor.check_app_db(mysql_url)
    assert check.state == doctor.OK
    assert "reachable" in check.detail


def test_deployment_names_every_missing_variable(yd_home, monkeypatch):
    assert doctor.check_deployment().state == doctor.OK  # the embedded default needs nothing
    monkeypatch.setenv("YD_DEPLOYMENT", "production")
    monkeypatch.setenv("YD_MINIO_SECRET_KEY", "minio-s3cret")
    check = doctor.check_deployment()
    assert check.state == doctor.FAIL
    assert "YD_MINIO_ENDPOINT (object store: the S3 endpoint, host:port)" in check.detail
    assert "YD_PORTAL_URL" in check.detail and "YD_MINIO_SECRET_KEY" not in check.detail
    assert "docker/.env.example" in check.hint
    # each resource's own check says what its system lacks, without reaching anything
    store = doctor.check_object_store()
    assert store.state == doctor.FAIL and "YD_MINIO_ENDPOINT" in store.detail
    assert "minio-s3cret" not in store.line()


def test_each_check_uses_the_resource_of_the_deployment(yd_home, monkeypatch, closed_port):
    monkeypatch.setenv("YD_PMS_DB_URL", f"mysql+pymysql://pms:pms-s3cret@127.0.0.1:{closed_port}/pms")
    pms = doctor.check_pms_db()
    assert pms.state == doctor.FAIL and f"127.0.0.1:{closed_port}" in pms.detail and "pms-s3cret" not in pms.line()
    monkeypatch.setenv("YD_METABASE_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("YD_METABASE_API_KEY", "mb-key")
    metabase = doctor.check_metabase()
    assert metabase.state == doctor.FAIL and "unreachable" in metabase.detail and "mb-key" not in metabase.line()
    monkeypatch.setenv("YD_UI_URL", f"http://127.0.0.1:{closed_port}")
    assert doctor.check_webserver().state == doctor.WARN  # embedded: start it with yd-platform up
    assert doctor.check_shop_source().state == doctor.OK  # the catalog's shops


def test_json_gives_each_check_and_fails_with_the_exit_status(yd_home, monkeypatch, closed_port, capsys):
    monkeypatch.setenv("YD_APP_DB_URL", f"mysql+pymysql://root:db-s3cret@127.0.0.1:{closed_port}/yd_app")
    code = cli.main(["doctor", "--only", "app-db", "table-engine", "--json"])
    out = capsys.readouterr().out
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False
    app_db, engine = answer["checks"]
    assert set(app_db) == {"name", "ok", "state", "detail", "fix"}
    assert (app_db["name"], app_db["ok"], app_db["state"]) == ("app database", False, "FAIL")
    assert f"127.0.0.1:{closed_port}" in app_db["detail"] and "up -d mysql" in app_db["fix"]
    assert (engine["name"], engine["ok"], engine["state"], engine["fix"]) == ("table engine", True, "OK", None)
    assert "db-s3cret" not in out

    monkeypatch.delenv("YD_APP_DB_URL")
    assert cli.main(["doctor", "--only", "app-db", "table-engine", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_a_warning_is_ok_for_the_exit_status(yd_home, monkeypatch, closed_port, capsys):
    monkeypatch.setenv("YD_UI_URL", f"http://127.0.0.1:{closed_port}")
    assert cli.main(["doctor", "--only", "webserver", "--json"]) == 0
    [check] = json.loads(capsys.readouterr().out)["checks"]
    assert (check["state"], check["ok"]) == ("WARN", True) and "yd-platform up" in check["fix"]


def test_embedded_instance_is_looked_at_never_created(yd_home, monkeypatch):
    """A fresh embedded install: DAGSTER_HOME unset, nothing under YD_HOME yet. Doctor says
    where the instance will be and writes nothing (opening a folder without dagster.yaml
    would make Dagster warn and fall back to its defaults)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    check = doctor.check_dagster_instance()
    assert check.state == doctor.OK and str(yd_home / "dagster_home") in check.detail
    assert not (yd_home / "dagster_home").exists()

    from yd_platform.cli.instance_home import instance_home

    instance_home()  # what up/run/status do first
    monkeypatch.delenv("DAGSTER_HOME")
    check = doctor.check_dagster_instance()
    assert check.state == doctor.OK and "SqliteRunStorage, 0 runs" in check.detail
