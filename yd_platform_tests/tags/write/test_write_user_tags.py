"""The user_tags write path on SQLite and real MariaDB, through Spark (fixtures `engine`
and `write` in the tags conftest): merge with existing tags in every mode, created_time
never changes, updated_time only on a real change, a rerun writes nothing, ids compare
byte for byte, an interrupted write changes nothing."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.tables import read_user_tags, save_tag, user_tags
from yd_platform.tags.write.upsert import TagWriteError
from yd_platform.tags.write.write_user_tags import write_user_tags

pytestmark = pytest.mark.slow

T1, T2, T3 = datetime(2025, 10, 1, 8, 0, 0), datetime(2025, 10, 2, 8, 0, 0), datetime(2025, 10, 3, 8, 0, 0)
RULE = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">", "value": 0, "type": "number"}]}


def rows(engine):
    return read_user_tags(engine)


def test_merge_timestamps_and_idempotent_rerun(engine, write):
    s = write({"a": [3], "b": [3, 5], "c": []}, [3, 5], now=T1)
    assert (s.inserted, s.updated, s.unchanged) == (2, 0, 0)
    first = rows(engine)
    assert set(first) == {"a", "b"}  # c matched nothing and had no row: none is made
    assert first["b"]["tag_ids"] == [3, 5]
    assert first["b"]["tag_details"] == {"3": {"tag_name": "高频咨询"}, "5": {"tag_name": "VIP客户"}}
    assert first["a"]["created_time"] == first["a"]["updated_time"] == T1

    # task-tags, tag 3 only: a no longer matches it and loses only tag 3; b keeps tag 5 (not evaluated)
    s = write({"b": [3]}, [3], now=T2)
    assert (s.inserted, s.updated, s.unchanged) == (0, 1, 1)
    second = rows(engine)
    assert second["a"]["tag_ids"] == [] and second["a"]["updated_time"] == T2
    assert second["a"]["created_time"] == T1
    assert second["b"] == first["b"]  # unchanged set: no write, updated_time stays

    # the same run again changes nothing
    s = write({"b": [3]}, [3], now=T3)
    assert (s.inserted, s.updated) == (0, 0)
    assert rows(engine) == second


def test_task_all_adds_removes_and_counts_per_tag(engine, write):
    write({"a": [3, 5], "b": [5], "d": [3]}, [3, 5], now=T1)
    s = write({"a": [3], "b": [3, 5], "e": [5], "f": []}, [3, 5], now=T2)
    after = rows(engine)
    assert {u: r["tag_ids"] for u, r in after.items()} == {"a": [3], "b": [3, 5], "d": [], "e": [5]}
    assert after["e"]["created_time"] == T2 and after["d"]["created_time"] == T1
    assert (s.inserted, s.updated, s.unchanged) == (1, 3, 0)
    meta = s.as_metadata()
    assert meta["users_evaluated"] == 4 and meta["matched_users"] == 3 and meta["coverage"] == 0.75
    per_tag = {row["tag_id"]: row for row in s.per_tag({3: "高频咨询"})}
    assert per_tag[3] == {"tag_id": 3, "tag_name": "高频咨询", "users_matched": 2, "hit_rate": 0.5,
                          "users_added": 1, "users_removed": 1}
    assert (per_tag[5]["users_matched"], per_tag[5]["users_added"], per_tag[5]["users_removed"]) == (2, 1, 1)


def test_task_users_touch_only_the_given_users(engine, write):
    write({"a": [3, 5], "b": [5]}, [3, 5], now=T1)
    s = write({}, [5], user_ids=["b"], now=T2)
    assert (s.updated, s.inserted) == (1, 0)
    after = rows(engine)
    assert after["a"]["tag_ids"] == [3, 5] and after["a"]["updated_time"] == T1
    assert after["b"]["tag_ids"] == [] and after["b"]["created_time"] == T1 and after["b"]["updated_time"] == T2


def test_many_new_users_then_unchanged_rerun(engine, write):
    new = {f"user_{i:05d}": [3] for i in range(2345)}
    s = write(new, [3], now=T1)
    assert s.inserted == 2345
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(user_tags)).scalar() == 2345
    s = write(new, [3], now=T2)
    assert (s.inserted, s.updated, s.unchanged) == (0, 0, 2345)


def test_ids_compare_byte_for_byte_and_odd_text_round_trips(engine, write):
    save_tag(engine, 7, 'quote " comma , back\\slash\ttab', RULE)
    odd = 'x,"y"\\z'
    s = write({"buyer_a": [3], "Buyer_A": [5], "v1": [3], "v1 ": [5], " v1": [7], odd: [3, 7]}, [3, 5, 7], now=T1)
    assert s.inserted == 6
    after = rows(engine)
    assert {u: r["tag_ids"] for u, r in after.items()} == {
        "buyer_a": [3], "Buyer_A": [5], "v1": [3], "v1 ": [5], " v1": [7], odd: [3, 7]}
    assert after[odd]["tag_details"]["7"] == {"tag_name": 'quote " comma , back\\slash\ttab'}
    # a rerun does not flip one id's tags onto the other
    again = write({"buyer_a": [3], "Buyer_A": [5], "v1": [3], "v1 ": [5], " v1": [7], odd: [3, 7]}, [3, 5, 7], now=T2)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert rows(engine) == after


def test_interrupted_merge_leaves_user_tags_as_before(engine, write):
    write({f"u{i:04d}": [3] for i in range(500)}, [3, 5], now=T1)
    before = rows(engine)

    if engine.dialect.name == "sqlite":
        # the merge fails on the last user, after it has written the others
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TRIGGER stop_late BEFORE UPDATE ON user_tags WHEN NEW.user_id = 'u0499' "
                                 "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
        interrupt = None
    else:
        interrupt = kill_while_merging(engine)
    with pytest.raises(TagWriteError) as failure:
        write({f"u{i:04d}": [3, 5] for i in range(500)}, [3, 5], now=T2, before_merge=interrupt)
    message = str(failure.value)
    assert message.startswith("user_tags write failed while merging the staged rows into user_tags: ")
    assert "user_tags was left as it was before the run" in message
    assert "Traceback" not in message and "pymysql" not in message
    if engine.dialect.name != "sqlite":
        assert "the connection to the database was lost" in message or "server went away" in message
    assert rows(engine) == before


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)  # the merge by primary key is MariaDB/MySQL's
def test_a_row_recreated_after_the_read_stops_the_write(engine, write):
    """The update goes by the primary key Spark read: a row deleted and written again
    in between (new key) is not overwritten blindly; the run fails and changes nothing."""
    write({"a": [3], "b": [3]}, [3, 5], now=T1)

    def recreate_b(_merging_conn) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM user_tags WHERE user_id = 'b'"))
            conn.execute(sa.text("INSERT INTO user_tags (user_id, tag_ids, tag_details, created_time, updated_time) "
                                 "VALUES ('b', '[5]', '{}', :t, :t)"), {"t": T1})

    with pytest.raises(TagWriteError) as failure:
        write({"a": [3, 5], "b": [3, 5]}, [3, 5], now=T2, before_merge=recreate_b)
    assert str(failure.value).startswith("user_tags write failed while merging the staged rows into user_tags: "
                                         "1 of the 2 rows to update were deleted or re-created since the run")
    after = rows(engine)
    assert {u: (r["tag_ids"], r["updated_time"]) for u, r in after.items()} == {"a": ([3], T1), "b": ([5], T1)}


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)
def test_a_new_user_written_after_the_read_stops_the_write(engine, write):
    write({"a": [3]}, [3], now=T1)

    def add_c(_merging_conn) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO user_tags (user_id, tag_ids, tag_details, created_time, updated_time) "
                                 "VALUES ('c', '[5]', '{}', :t, :t)"), {"t": T1})

    with pytest.raises(TagWriteError) as failure:
        write({"a": [3, 5], "c": [3]}, [3, 5], now=T2, before_merge=add_c)
    message = str(failure.value)
    assert "while merging the staged rows into user_tags: a user the run found without a row has one now" in message
    assert "user_tags was left as it was before the run" in message
    after = rows(engine)
    assert {u: (r["tag_ids"], r["updated_time"]) for u, r in after.items()} == {"a": ([3], T1), "c": ([5], T1)}


def test_updates_keep_each_row_s_key(engine, write):
    """Rows are updated in place: their primary key stays, and new users get the next keys."""
    write({"a": [3], "b": [3]}, [3, 5], now=T1)
    with engine.connect() as conn:
        before = dict(conn.execute(sa.select(user_tags.c.user_id, user_tags.c.id)).all())
    write({"a": [3, 5], "b": [], "c": [5]}, [3, 5], now=T2)
    with engine.connect() as conn:
        after = dict(conn.execute(sa.select(user_tags.c.user_id, user_tags.c.id)).all())
    assert after["a"] == before["a"] and after["b"] == before["b"]
    assert after["c"] > max(before.values())


def kill_while_merging(engine):
    """A before_merge hook: another session locks the last user's row, so the merge
    updates the others and then waits on it; a third session KILLs the merging
    connection there, and the lock is released."""
    import threading
    import time

    def interrupt(merging_conn) -> None:
        merge_id = merging_conn.thread_id()
        blocker = engine.connect()
        blocker.begin()
        blocker.execute(sa.text("SELECT * FROM user_tags WHERE user_id = 'u0499' FOR UPDATE")).all()

        def kill_when_waiting() -> None:
            try:
                with engine.connect() as killer:
                    deadline = time.monotonic() + 600
                    while time.monotonic() < deadline:  # until the merge waits for the locked row
                        if killer.execute(sa.text(
                                "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                                "WHERE trx_mysql_thread_id = :id AND trx_state = 'LOCK WAIT'"),
                                {"id": merge_id}).scalar():
                            break
                        time.sleep(0.05)
                    killer.execute(sa.text(f"KILL CONNECTION {int(merge_id)}"))
            finally:
                blocker.rollback()
                blocker.close()

        threading.Thread(target=kill_when_waiting, daemon=True).start()

    return interrupt


def test_existing_table_with_the_default_collation_is_migrated(mysql_url, spark):
    """A user_tags made before (server default collation: case and trailing spaces
    ignored) is altered to the binary NO PAD collation, keeping its rows."""
    engine = AppDatabaseResource(url=mysql_url).engine()
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE user_tags (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id VARCHAR(100) NOT NULL, "
            "tag_ids JSON NOT NULL, tag_details JSON, created_time DATETIME NOT NULL, "
            "updated_time DATETIME NOT NULL, UNIQUE KEY uk_user_id (user_id)) "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        conn.exec_driver_sql("INSERT INTO user_tags (user_id, tag_ids, tag_details, created_time, updated_time) "
                             "VALUES ('buyer_a', '[3]', '{}', '2025-09-01 00:00:00', '2025-09-01 00:00:00')")
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM user_tags WHERE user_id = 'BUYER_A  '").scalar() == 1
    save_tag(engine, 3, "t3", RULE)  # ensure_tables migrates
    with engine.connect() as conn:
        collation = conn.exec_driver_sql(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'user_tags' AND COLUMN_NAME = 'user_id'").scalar()
        assert collation == "utf8mb4_nopad_bin"
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM user_tags WHERE user_id = 'buyer_a '").scalar() == 0
    frame = spark.createDataFrame([("Buyer_A", [3])], "user_id string, tag_ids array<int>")
    s = write_user_tags(spark, engine, frame, [3], user_ids=["Buyer_A"], now=T1)
    assert (s.inserted, s.updated) == (1, 0)
    after = rows(engine)
    assert after["buyer_a"]["created_time"] == datetime(2025, 9, 1) and after["Buyer_A"]["created_time"] == T1
    engine.dispose()


@pytest.mark.parametrize("engine", ["mariadb"], indirect=True)  # JDBC staging is for MariaDB/MySQL
def test_executors_can_stage_over_jdbc(engine, write):
    """With Spark on a cluster the executors write the changed rows into a staging table
    over JDBC; the merge and its result are the same as through LOAD DATA."""
    write({"a": [3, 5], "b": [5], "x y": [3]}, [3, 5], now=T1, stage="jdbc")
    s = write({"a": [3], "b": [], "c": []}, [3], now=T2, stage="jdbc")
    assert (s.inserted, s.updated) == (0, 1)  # tag 3 only: x y loses it; c matches none of [3]
    after = rows(engine)
    assert {u: r["tag_ids"] for u, r in after.items()} == {"a": [3, 5], "b": [5], "x y": []}
    assert after["x y"]["updated_time"] == T2 and after["a"]["updated_time"] == T1
    with engine.connect() as conn:  # the run's staging table is gone
        assert [t for t in sa.inspect(conn).get_table_names() if t.startswith("user_tags_stage")] == []


def test_a_run_over_no_users_counts_nothing(engine, write):
    """No users in the source and no rows yet: the counts are all zero and nothing is written."""
    s = write({}, [3, 5], now=T1)
    assert (s.statistics.users_evaluated, s.inserted, s.updated, s.unchanged) == (0, 0, 0, 0)
    assert {t: (c.matched, c.added, c.removed) for t, c in s.statistics.per_tag.items()} == {3: (0, 0, 0), 5: (0, 0, 0)}
    assert rows(engine) == {}
    write({"a": [3]}, [3], now=T1)
    gone = write({}, [3], now=T2)  # every user left the source: a loses tag 3 and keeps the row
    assert (gone.updated, gone.statistics.per_tag[3].removed) == (1, 1)
    assert rows(engine)["a"]["tag_ids"] == []
