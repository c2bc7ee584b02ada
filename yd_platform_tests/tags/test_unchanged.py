"""Unchanged reruns: a run whose inputs are those of the last run of its scope reads and
writes nothing and reports the same counts; any run that changes rows makes the next one
compare again; the fingerprint follows the feature files and the other inputs."""

from __future__ import annotations

import os

import pytest

from yd_platform.tags.unchanged import input_fingerprint
from yd_platform_tests.tags.test_write import T1, T2, T3, engine, rows, write  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def test_a_rerun_with_the_same_inputs_is_skipped(engine, write):  # noqa: F811
    first = write({"a": [3], "b": [3, 5]}, [3, 5], now=T1, inputs="inputs-1")
    assert (first.inserted, first.unchanged_since) == (2, None)
    before = rows(engine)

    again = write({"a": [3], "b": [3, 5]}, [3, 5], now=T2, inputs="inputs-1")
    assert again.unchanged_since == T1
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert again.statistics.users_matched == first.statistics.users_matched
    assert {t: (c.matched, c.added, c.removed) for t, c in again.statistics.per_tag.items()} == {3: (2, 0, 0), 5: (1, 0, 0)}
    assert again.as_metadata()["unchanged_since"] == "2025-10-01 08:00:00"
    assert rows(engine) == before

    # other inputs: compared and written as usual
    changed = write({"a": [], "b": [3, 5]}, [3, 5], now=T2, inputs="inputs-2")
    assert (changed.updated, changed.unchanged_since) == (1, None)
    assert rows(engine)["a"]["tag_ids"] == []


def test_a_write_in_another_scope_makes_the_next_run_compare(engine, write):  # noqa: F811
    write({"a": [3], "b": [3]}, [3], now=T1, inputs="all-1")
    # task-users changes a row: what was remembered for every scope no longer holds
    users = write({"a": []}, [3], user_ids=["a"], now=T2)
    assert users.updated == 1
    rerun = write({"a": [3], "b": [3]}, [3], now=T3, inputs="all-1")
    assert rerun.unchanged_since is None and rerun.updated == 1  # a gets tag 3 back
    assert rows(engine)["a"]["tag_ids"] == [3]
    # a run without a fingerprint (force) always compares
    forced = write({"a": [3], "b": [3]}, [3], now=T3)
    assert forced.unchanged_since is None and forced.unchanged == 2


def test_the_fingerprint_follows_the_feature_files(spark, tmp_path):
    folder = tmp_path / "features"
    spark.createDataFrame([("u1", 1)], "user_id string, n int").coalesce(1).write.parquet(str(folder))
    source = spark.read.parquet(str(folder))
    same = input_fingerprint(spark, source, today="2025-10-01", rules=[(3, "t", {"x": 1})])
    assert same == input_fingerprint(spark, spark.read.parquet(str(folder)), today="2025-10-01",
                                     rules=[(3, "t", {"x": 1})])
    assert same != input_fingerprint(spark, source, today="2025-10-02", rules=[(3, "t", {"x": 1})])
    assert same != input_fingerprint(spark, source, today="2025-10-01", rules=[(3, "t", {"x": 2})])
    # the same file rewritten (a republished ODS partition) gives another fingerprint
    [part] = [p for p in folder.iterdir() if p.name.startswith("part-")]
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert same != input_fingerprint(spark, spark.read.parquet(str(folder)), today="2025-10-01",
                                     rules=[(3, "t", {"x": 1})])
