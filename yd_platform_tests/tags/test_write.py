"""UPSERT into user_tags on SQLite and real MariaDB: merge with existing tags, created_time
never changes, updated_time only on a real change, a rerun writes nothing."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.store import ensure_tables, load_tags, read_user_tags, save_tag, user_tags
from yd_platform.tags.write import write_user_tags

T1, T2, T3 = datetime(2025, 10, 1, 8, 0, 0), datetime(2025, 10, 2, 8, 0, 0), datetime(2025, 10, 3, 8, 0, 0)
RULE = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">", "value": 0, "type": "number"}]}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}" if request.param == "sqlite" else request.getfixturevalue("mysql_url")
    engine = AppDatabaseResource(url=url).engine()
    ensure_tables(engine)
    ensure_tables(engine)  # idempotent
    save_tag(engine, 3, "高频咨询", RULE, category="行为分析")
    save_tag(engine, 5, "VIP客户", RULE, category="价值管理")
    yield engine
    if request.param == "mariadb":
        engine.dispose()


def rows(engine):
    return read_user_tags(engine)


def test_merge_timestamps_and_idempotent_rerun(engine):
    s = write_user_tags(engine, {"a": [3], "b": [3, 5]}, [3, 5], now=T1)
    assert (s.inserted, s.updated, s.unchanged) == (2, 0, 0)
    first = rows(engine)
    assert first["b"]["tag_ids"] == [3, 5]
    assert first["b"]["tag_details"] == {"3": {"tag_name": "高频咨询"}, "5": {"tag_name": "VIP客户"}}
    assert first["a"]["created_time"] == first["a"]["updated_time"] == T1

    # recompute tag 3 only: a no longer matches it and loses only tag 3; b keeps tag 5
    s = write_user_tags(engine, {"b": [3]}, [3], now=T2)
    assert (s.inserted, s.updated, s.unchanged) == (0, 1, 1)
    second = rows(engine)
    assert second["a"]["tag_ids"] == [] and second["a"]["updated_time"] == T2
    assert second["a"]["created_time"] == T1
    assert second["b"] == first["b"]  # unchanged set: no write, updated_time stays

    # the same run again changes nothing
    s = write_user_tags(engine, {"b": [3]}, [3], now=T3)
    assert (s.inserted, s.updated) == (0, 0)
    assert rows(engine) == second


def test_task_users_touch_only_the_given_users(engine):
    write_user_tags(engine, {"a": [3, 5], "b": [5]}, [3, 5], now=T1)
    s = write_user_tags(engine, {}, [5], user_ids=["b"], now=T2)
    assert (s.updated, s.inserted) == (1, 0)
    after = rows(engine)
    assert after["a"]["tag_ids"] == [3, 5] and after["a"]["updated_time"] == T1
    assert after["b"]["tag_ids"] == [] and after["b"]["created_time"] == T1 and after["b"]["updated_time"] == T2


def test_new_user_gets_row_and_batches_cover_all(engine):
    new = {f"user_{i:05d}": [3] for i in range(2345)}
    s = write_user_tags(engine, new, [3], now=T1, batch_size=500)
    assert s.inserted == 2345
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(user_tags)).scalar() == 2345
    s = write_user_tags(engine, new, [3], now=T2, batch_size=500)
    assert (s.inserted, s.updated, s.unchanged) == (0, 0, 2345)


def test_rules_load_newest_active_rule(engine):
    newer = {"logic": "OR", "conditions": [{"field": "chat_messages", "operator": ">=", "value": 5,
                                            "type": "number"}]}
    save_tag(engine, 3, "高频咨询", newer, category="行为分析")
    tags = {t.tag_id: t for t in load_tags(engine)}
    assert tags[3].rule == newer and tags[3].category == "行为分析"
    assert [t.tag_id for t in load_tags(engine, [5])] == [5]
