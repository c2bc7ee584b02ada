"""Unchanged reruns: a run whose inputs are those of the last run of its scope reads and
writes nothing and reports the same counts; any run that changes rows makes the next one
compare again; the fingerprint follows the feature files and the other inputs (fixtures
`engine` and `write` in the tags conftest)."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime

import pyarrow.parquet as pq
import pytest

from yd_platform.tags.tables import read_user_tags
from yd_platform.tags.write.unchanged import input_fingerprint

pytestmark = pytest.mark.slow

T1, T2, T3 = datetime(2025, 10, 1, 8, 0, 0), datetime(2025, 10, 2, 8, 0, 0), datetime(2025, 10, 3, 8, 0, 0)


def test_a_rerun_with_the_same_inputs_is_skipped(engine, write):
    first = write({"a": [3], "b": [3, 5]}, [3, 5], now=T1, inputs="inputs-1")
    assert (first.inserted, first.unchanged_since) == (2, None)
    before = read_user_tags(engine)

    again = write({"a": [3], "b": [3, 5]}, [3, 5], now=T2, inputs="inputs-1")
    assert again.unchanged_since == T1
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert again.statistics.users_matched == first.statistics.users_matched
    assert {t: (c.matched, c.added, c.removed) for t, c in again.statistics.per_tag.items()} == {3: (2, 0, 0), 5: (1, 0, 0)}
    assert again.as_metadata()["unchanged_since"] == "2025-10-01 08:00:00"
    assert read_user_tags(engine) == before

    # other inputs: compared and written as usual
    changed = write({"a": [], "b": [3, 5]}, [3, 5], now=T2, inputs="inputs-2")
    assert (changed.updated, changed.unchanged_since) == (1, None)
    assert read_user_tags(engine)["a"]["tag_ids"] == []


def test_a_write_in_another_scope_makes_the_next_run_compare(engine, write):
    write({"a": [3], "b": [3]}, [3], now=T1, inputs="all-1")
    # task-users changes a row: what was remembered for every scope no longer holds
    users = write({"a": []}, [3], user_ids=["a"], now=T2)
    assert users.updated == 1
    rerun = write({"a": [3], "b": [3]}, [3], now=T3, inputs="all-1")
    assert rerun.unchanged_since is None and rerun.updated == 1  # a gets tag 3 back
    assert read_user_tags(engine)["a"]["tag_ids"] == [3]
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
    # the same bytes written again (a republished ODS partition) are the same input
    [part] = [p for p in folder.iterdir() if p.name.startswith("part-")]
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert same == input_fingerprint(spark, spark.read.parquet(str(folder)), today="2025-10-01",
                                     rules=[(3, "t", {"x": 1})])
    # other rows in the file are another input
    spark.createDataFrame([("u1", 2)], "user_id string, n int").coalesce(1).write.mode("overwrite").parquet(str(folder))
    assert same != input_fingerprint(spark, spark.read.parquet(str(folder)), today="2025-10-01",
                                     rules=[(3, "t", {"x": 1})])


def test_a_download_into_another_staging_folder_is_the_same_input(spark, tmp_path):
    """Runs that download the ODS partitions first (local Spark on MinIO) get a new staging
    folder each time: the files count by their place inside it and their bytes."""
    spark.createDataFrame([("u1", 1)], "user_id string, n int").coalesce(1).write.parquet(str(tmp_path / "src"))
    [part] = [p for p in (tmp_path / "src").iterdir() if p.name.startswith("part-")]
    fingerprints = []
    for run in ("run-1", "run-2"):
        target = tmp_path / run / "ods" / "pdd" / "dt=2025-10-01" / "part-00000.parquet"
        target.parent.mkdir(parents=True)
        shutil.copyfile(part, target)
        fingerprints.append(input_fingerprint(spark, spark.read.parquet(str(target)), tmp_path / run,
                                              today="2025-10-01"))
    assert fingerprints[0] == fingerprints[1]
    # without the staging folder, the two copies are two different files
    assert (input_fingerprint(spark, spark.read.parquet(str(tmp_path / "run-1")), today="2025-10-01")
            != input_fingerprint(spark, spark.read.parquet(str(tmp_path / "run-2")), today="2025-10-01"))


def test_partitions_downloaded_from_minio_again_are_the_same_input(minio_store, catalog, spark, tmp_path):
    """A local Spark on MinIO downloads the window into a new staging folder every run; the
    same objects give the same fingerprint, other rows in one of them another."""
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.features.source import build_feature_source
    from yd_platform_tests.tags.ods_data import write_chat_ods

    store = minio_store.client()
    write_chat_ods(store, catalog)
    cfg = load_tags_config(catalog=catalog)

    def fingerprint(run: str) -> str:
        staging = tmp_path / run
        source, _ = build_feature_source(spark, cfg.source, catalog, store, date(2025, 10, 2), staging)
        return input_fingerprint(spark, source, staging, today="2025-10-02")

    first = fingerprint("run-1")
    assert fingerprint("run-2") == first
    write_chat_ods(store, catalog)  # published again, same rows
    assert fingerprint("run-3") == first
    [key] = [k for k in (o.key for o in store.list("")) if "pdd" in k and "2025-10-01" in k and k.endswith(".parquet")]
    local = tmp_path / "changed.parquet"
    store.download(key, local)
    table = pq.read_table(local)
    pq.write_table(table.slice(0, table.num_rows - 1), local)
    store.put_file(key, local)
    assert fingerprint("run-4") != first
