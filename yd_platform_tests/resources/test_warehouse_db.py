"""The warehouse database: YD_WAREHOUSE_URL when set, else the embedded SQLite file."""

from yd_platform.resources.warehouse_db import warehouse_engine, warehouse_is_configured, warehouse_url


def test_embedded_default_is_a_file_in_yd_home(yd_home, monkeypatch):
    monkeypatch.delenv("YD_WAREHOUSE_URL", raising=False)
    assert warehouse_url() == f"sqlite:///{yd_home / 'warehouse.db'}"
    assert not warehouse_is_configured()


def test_the_variable_names_the_warehouse(yd_home, tmp_path, monkeypatch):
    monkeypatch.setenv("YD_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'dw.db'}")
    assert warehouse_is_configured()
    with warehouse_engine() as engine:
        with engine.begin() as conn:
            conn.exec_driver_sql("create table user_basic_info (user_id text)")
    assert (tmp_path / "dw.db").exists() and not (yd_home / "warehouse.db").exists()
