"""First start of the embedded default (`yd-platform up`): the shipped tags are seeded and
the warehouse gets demo users for the day, with the same users and seed as the last time;
a configured warehouse is never written."""

from datetime import date

import sqlalchemy as sa

from yd_platform.deployment import app_db_url
from yd_platform.resources.app_db import engine_for
from yd_platform.resources.warehouse_db import warehouse_url
from yd_platform.tags.first_start import prepare_embedded_tags
from yd_platform.tags.seed.demo_data import write_demo_data, written_by_demo
from yd_platform.tags.tables import tag_names


def test_first_start_seeds_the_tags_and_writes_demo_users(yd_home, catalog, monkeypatch):
    monkeypatch.delenv("YD_WAREHOUSE_URL", raising=False)
    seeded, demo = prepare_embedded_tags(date(2025, 10, 2))
    assert seeded.startswith("tag seed v") and "inserted" in seeded
    assert sorted(tag_names(engine_for(app_db_url()))) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert demo.startswith(f"demo feature tables for 2025-10-02 in sqlite:///{yd_home}/warehouse.db: ")
    assert "user_basic_info 1000 rows" in demo

    # the operator chose other demo users: the next start keeps them and moves the day
    write_demo_data(warehouse_url(), catalog, 40, 5, date(2025, 10, 2))
    seeded, demo = prepare_embedded_tags(date(2025, 10, 3))
    assert seeded.endswith("nothing new")
    assert "user_basic_info 40 rows" in demo
    engine = sa.create_engine(warehouse_url())
    info = written_by_demo(engine)["user_basic_info"]
    engine.dispose()
    assert (info["users"], info["seed"], info["today"]) == (40, 5, date(2025, 10, 3))


def test_a_configured_warehouse_is_left_alone(yd_home, tmp_path, monkeypatch):
    real = tmp_path / "real_warehouse.db"
    monkeypatch.setenv("YD_WAREHOUSE_URL", f"sqlite:///{real}")
    messages = prepare_embedded_tags(date(2025, 10, 2))
    assert len(messages) == 1 and messages[0].startswith("tag seed v")
    assert not real.exists() and not (yd_home / "warehouse.db").exists()
