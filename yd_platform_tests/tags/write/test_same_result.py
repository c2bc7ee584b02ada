"""The platform's copy of user_tags changes where a run reads the current rows, never what
it writes: the same runs (every launch mode, a renamed and a deleted tag, a write outside
the platform) on two app databases of the same kind, one keeping copies and one reading
user_tags every time, leave byte-identical tables and report the same counts. On SQLite
and real MariaDB through Spark (fixtures `engine`, `write`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from yd_platform.tags.tables import ensure_tables, save_tag, tag_definition, tag_rules
from yd_platform_tests.databases import app_database
from yd_platform_tests.tags.conftest import CHAT_RULE

pytestmark = pytest.mark.slow

EVERY = [3, 5]
# (what happens before the run, the run's result, evaluated tags, task users, where the copy-keeping run reads)
STEPS = [
    (None, {"a": [3], "b": [3, 5], "c": []}, EVERY, None, "user_tags"),
    (None, {"a": [], "b": [3], "d": [5], "e": [3, 5], "c": [3]}, EVERY, None, "copy"),
    (None, {"a": [], "b": [3], "d": [5], "e": [3, 5], "c": [3]}, EVERY, None, "copy"),  # forced: nothing changes
    (None, {"a": [5], "b": [], "d": [5], "e": [5], "f": [5]}, [5], None, "copy"),  # task-tags
    (None, {"b": [3, 5], "g": [3]}, EVERY, ["b", "g", "nobody"], "copy"),  # task-users
    ("rename 5, delete 3", {"a": [], "b": [5], "e": [5], "h": [5]}, [5], None, "copy"),
    ("outside write", {"a": [5], "b": [5], "c": [], "z": [5]}, [5], None, "user_tags"),
    (None, {"a": [5], "b": [], "c": [], "z": [5]}, [5], None, "copy"),
]


def happen(engine, what: str | None) -> None:
    if what == "rename 5, delete 3":
        save_tag(engine, 5, "VIP", CHAT_RULE)
        with engine.begin() as conn:
            conn.execute(tag_rules.delete().where(tag_rules.c.tag_id == 3))
            conn.execute(tag_definition.delete().where(tag_definition.c.tag_id == 3))
    elif what == "outside write":
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE user_tags SET tag_ids = '[3, 5]' WHERE user_id = 'a'")
            conn.exec_driver_sql("INSERT INTO user_tags (user_id, tag_ids, tag_details, created_time, updated_time) "
                                 "VALUES ('z', '[7]', '{\"7\": {\"tag_name\": \"old\"}}', '2025-09-01 00:00:00', "
                                 "'2025-09-01 00:00:00')")


def raw_rows(engine) -> list[tuple]:
    """Every row of user_tags but its surrogate key, as the database hands it over."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT user_id, tag_ids, tag_details, created_time, updated_time FROM user_tags ORDER BY user_id")]


def row_ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT user_id, id FROM user_tags").all())


def counts(summary) -> tuple:
    s = summary.statistics
    return s.users_evaluated, s.users_matched, s.inserted, s.updated, s.unchanged, s.per_tag


def test_a_run_writes_the_same_with_and_without_the_copy(spark, engine, write, tmp_path):
    kind = "sqlite" if engine.dialect.name == "sqlite" else "mariadb"
    (tmp_path / "plain").mkdir()
    with app_database(kind, tmp_path / "plain") as plain:
        ensure_tables(plain)
        save_tag(plain, 3, "高频咨询", CHAT_RULE, category="行为分析")
        save_tag(plain, 5, "VIP客户", CHAT_RULE, category="价值管理")
        ids_kept, ids_plain = {}, {}
        for day, (what, found, evaluated, users, read_from) in enumerate(STEPS, start=1):
            now = datetime(2025, 10, day, 8, 0, 0)
            happen(engine, what)
            happen(plain, what)
            kept = write(found, evaluated, user_ids=users, now=now)
            without = write(found, evaluated, user_ids=users, now=now, snapshot_root=None, database=plain)
            where = f"step {day} ({what or 'run'})"
            assert (kept.read_from, without.read_from) == (read_from, "user_tags"), (where, kept.copy_unused)
            assert counts(kept) == counts(without), where
            assert raw_rows(engine) == raw_rows(plain), where
            # a user's row keeps its key (new rows get theirs from the run or the database)
            for ids, now_ids in ((ids_kept, row_ids(engine)), (ids_plain, row_ids(plain))):
                assert {u: i for u, i in now_ids.items() if u in ids} == ids, where
                ids.update(now_ids)
        assert len(raw_rows(engine)) == 9
