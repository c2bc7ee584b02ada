"""Concurrent user_tags runs merge one after the other (MariaDB named lock, SQLite lock file)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from yd_platform.tags.tables import ensure_tables, read_user_tags
from yd_platform.tags.write import write_user_tags as write_path
from yd_platform.tags.write.lock import UserTagsLockTimeout, user_tags_writer
from yd_platform.tags.write.write_user_tags import write_user_tags
from yd_platform_tests.databases import app_database

USERS = [f"u{i:04d}" for i in range(300)]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)])
def engine(request, tmp_path):
    """The app database with the tag tables and no tag in them (the package's `engine`
    seeds two tags), on SQLite and, in the slow suite, MariaDB."""
    with app_database(request.param, tmp_path) as app:
        ensure_tables(app)
        yield app


@pytest.mark.slow
def test_concurrent_runs_for_different_tags_keep_both(engine, monkeypatch, spark):
    from pyspark.sql import functions as F

    # Each run pauses between reading the current tags and writing its merge, the window
    # in which an unlocked second run would read the same rows and overwrite the first.
    # With the lock the first run waits here alone until the barrier gives up (2 s).
    both_read = threading.Barrier(2, timeout=2)
    real_plan = write_path.plan_changes

    def slow_plan(*args, **kwargs):
        try:
            both_read.wait()  # only reached by both at once when nothing serialises them
        except threading.BrokenBarrierError:
            pass
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(write_path, "plan_changes", slow_plan)
    found = spark.createDataFrame([(u, [1]) for u in USERS], "user_id string, tag_ids array<int>")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(write_user_tags, spark, engine,
                            found.select("user_id", F.array(F.lit(tag)).alias("tag_ids")), [tag])
                for tag in (3, 5)]
        for run in runs:
            run.result()
    rows = read_user_tags(engine)
    assert len(rows) == len(USERS)
    assert {tuple(r["tag_ids"]) for r in rows.values()} == {(3, 5)}


def test_held_lock_makes_the_other_writer_wait_then_give_up_with_the_reason(engine):
    holding, release = threading.Event(), threading.Event()

    def hold():
        with user_tags_writer(engine):
            holding.set()
            release.wait(600)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(600)
        with pytest.raises(UserTagsLockTimeout, match="another run held the write lock"):
            with user_tags_writer(engine, timeout=1):
                pass
    finally:
        release.set()
        holder.join(600)
    with user_tags_writer(engine, timeout=5):  # free again once the holder is done
        pass
