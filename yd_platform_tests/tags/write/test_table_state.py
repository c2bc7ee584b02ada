"""Writes to user_tags by anyone but the platform, on SQLite and real MariaDB through Spark
(fixtures `engine`, `write`): the next run, forced to compare, sees them, reads the table
instead of the platform's copy and gets the right result; a write while a run compares
fails that run; a database user who may not make triggers gets runs that always read the
table."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.tables import ensure_tables, read_user_tags, save_tag
from yd_platform.tags.write.upsert import TagWriteError
from yd_platform.tags.write.write_user_tags import write_user_tags

pytestmark = pytest.mark.slow

T1, T2, T3 = (datetime(2025, 10, d, 8, 0, 0) for d in (1, 2, 3))
RULE = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">", "value": 0, "type": "number"}]}
FOUND = {"a": [3], "b": [3, 5]}


def outside_write(engine, what: str) -> None:
    """What an operator (or another program) might do to user_tags by hand."""
    statements = {
        "update": ["UPDATE user_tags SET tag_ids = '[5]' WHERE user_id = 'a'"],
        "insert": ["INSERT INTO user_tags (user_id, tag_ids, tag_details, created_time, updated_time) "
                   "VALUES ('z', '[3]', '{}', '2025-09-01 00:00:00', '2025-09-01 00:00:00')"],
        "delete": ["DELETE FROM user_tags WHERE user_id = 'b'"],
        "empty": ["DELETE FROM user_tags" if engine.dialect.name == "sqlite" else "TRUNCATE TABLE user_tags"],
        # a trigger dropped, then a write it would have counted
        "untracked": ["DROP TRIGGER user_tags_counted_update",
                      "UPDATE user_tags SET tag_ids = '[5]' WHERE user_id = 'a'"],
    }[what]
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


# what the forced run after the outside write does: (inserted, updated, unchanged)
EXPECTED = {"update": (0, 1, 1), "insert": (0, 1, 2), "delete": (1, 0, 1), "empty": (2, 0, 0),
            "untracked": (0, 1, 1)}


@pytest.mark.parametrize("what", list(EXPECTED))
def test_a_write_outside_the_platform_makes_the_next_run_read_the_table(engine, write, what):
    write(FOUND, [3, 5], now=T1)
    outside_write(engine, what)

    forced = write(FOUND, [3, 5], now=T2)  # the same result, forced to compare (no fingerprint)

    assert forced.read_from == "user_tags", forced.copy_unused
    assert (forced.inserted, forced.updated, forced.unchanged) == EXPECTED[what]
    expected = {"a": [3], "b": [3, 5], **({"z": []} if what == "insert" else {})}
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == expected
    # that run published the table again: the next one compares with its copy
    again = write(FOUND, [3, 5], now=T3)
    assert (again.read_from, again.inserted, again.updated) == ("copy", 0, 0)


def test_the_reason_the_copy_was_not_used_is_reported(engine, write):
    write(FOUND, [3, 5], now=T1)
    outside_write(engine, "update")
    forced = write(FOUND, [3, 5], now=T2)
    assert forced.copy_unused == "user_tags was written outside the platform since the last run (1 row changes)"
    assert forced.as_metadata()["copy_unused"] == forced.copy_unused


def test_a_write_outside_the_platform_while_a_run_compares_fails_the_run(engine, write):
    write({"a": [3], "b": [3]}, [3, 5], now=T1)

    def meanwhile(_merging_conn) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE user_tags SET tag_ids = '[5]' WHERE user_id = 'b'")

    with pytest.raises(TagWriteError) as failure:
        write({"a": [3, 5], "b": [3]}, [3, 5], now=T2, before_merge=meanwhile)
    message = str(failure.value)
    assert message.startswith("user_tags write failed while checking that nobody else wrote user_tags since the "
                              "run read it: 1 row changes were made outside the platform meanwhile")
    assert "user_tags was left as it was before the run" in message
    after = read_user_tags(engine)
    assert (after["a"]["tag_ids"], after["a"]["updated_time"]) == ([3], T1)  # the run's change was not kept
    assert after["b"]["tag_ids"] == [5]  # the other write was not overwritten

    again = write({"a": [3, 5], "b": [3]}, [3, 5], now=T3)
    assert (again.read_from, again.updated) == ("user_tags", 2)
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"a": [3, 5], "b": [3]}


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)  # privileges are MariaDB/MySQL's
def test_a_database_user_who_may_not_make_triggers_gets_runs_that_read_the_table(engine, spark, tmp_path):
    url = engine.url
    user, password = f"yd_notrig_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(sa.text("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, "
                             f"CREATE TEMPORARY TABLES ON `{url.database}`.* TO '{user}'@'%'"))
    limited = AppDatabaseResource(url=url.set(username=user, password=password).render_as_string(
        hide_password=False)).engine()
    try:
        ensure_tables(limited)
        save_tag(limited, 3, "t3", RULE)

        def run(found, now):
            frame = spark.createDataFrame(list(found.items()), "user_id string, tag_ids array<int>")
            return write_user_tags(spark, limited, frame, [3], now=now, snapshot_root=str(tmp_path / "copies"))

        run({"a": [3], "b": [3]}, T1)
        second = run({"a": [3], "b": []}, T2)
        assert second.read_from == "user_tags"
        assert second.copy_unused.startswith("triggers on user_tags cannot be made")
        assert (second.updated, second.unchanged) == (1, 1)
        assert {u: r["tag_ids"] for u, r in read_user_tags(limited).items()} == {"a": [3], "b": []}
    finally:
        limited.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP USER '{user}'@'%'"))


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)  # SQLite has no TRUNCATE: its DELETE is counted
def test_user_tags_emptied_while_a_run_compares_fails_the_run(engine, write):
    """TRUNCATE fires no trigger: a run that only inserts would find nothing in its way, so
    the ids the table holds after the merge are checked too."""
    write({"a": [3], "b": [3]}, [3, 5], now=T1)

    def meanwhile(_merging_conn) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE TABLE user_tags")

    with pytest.raises(TagWriteError) as failure:
        write({"a": [3], "b": [3], "c": [5]}, [3, 5], now=T2, before_merge=meanwhile)
    assert str(failure.value).startswith("user_tags write failed while checking that nobody else wrote user_tags "
                                         "since the run read it: its ids are 3..3 after the merge, not 1..3")
    assert read_user_tags(engine) == {}  # emptied, and the run's row was not kept

    again = write({"a": [3], "b": [3], "c": [5]}, [3, 5], now=T3)
    assert (again.read_from, again.inserted) == ("user_tags", 3)
    assert "ids changed outside the platform" in again.copy_unused
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"a": [3], "b": [3], "c": [5]}
