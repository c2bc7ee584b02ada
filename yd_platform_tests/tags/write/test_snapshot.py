"""The platform's copy of user_tags, on SQLite and real MariaDB through Spark (fixtures
`engine`, `write`, `copies`): every writing run publishes the table as it left it, new
rows with the ids the table gave them; the next run compares with the copy and gets what
the table would have given; a run that would change nothing finds so without a join."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from yd_platform.tags.tables import read_user_tags, save_tag, tag_definition, tag_rules, user_tags
from yd_platform.tags.write import snapshot
from yd_platform.tags.write.table_state import read_state

pytestmark = pytest.mark.slow

T1, T2, T3, T4 = (datetime(2025, 10, d, 8, 0, 0) for d in (1, 2, 3, 4))
RULE = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">", "value": 0, "type": "number"}]}


def table(engine) -> dict[str, tuple[int, list[int], dict]]:
    """user_id -> (id, tag_ids, tag_details) as user_tags holds them."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(user_tags.c.id, user_tags.c.user_id, user_tags.c.tag_ids,
                                      user_tags.c.tag_details)).all()
    return {r.user_id: (r.id, r.tag_ids, r.tag_details) for r in rows}


def published_copy(spark, engine) -> dict[str, tuple[int, list[int], dict]]:
    """The same, as the published copy holds them."""
    state = read_state(engine)
    assert state.published is not None, state.unused
    return {r.user_id: (r.id, list(r.tag_ids), json.loads(r.tag_details))
            for r in snapshot.read(spark, state.published).collect()}


def test_each_run_publishes_user_tags_as_it_left_it(spark, engine, write, copies):
    first = write({"a": [3], "b": [3, 5], "c": []}, [3, 5], now=T1)
    assert (first.read_from, first.inserted) == ("user_tags", 2)
    assert published_copy(spark, engine) == table(engine)

    second = write({"a": [], "b": [3], "d": [5], "e": [3, 5]}, [3, 5], now=T2)
    assert second.read_from == "copy"
    assert (second.inserted, second.updated, second.unchanged) == (2, 2, 0)
    after = table(engine)
    assert {u: tags for u, (_, tags, _) in after.items()} == {"a": [], "b": [3], "d": [5], "e": [3, 5]}
    assert after["d"][0] > after["b"][0] and after["e"][0] > after["b"][0]  # new rows after the others
    assert after["e"][2] == {"3": {"tag_name": "高频咨询"}, "5": {"tag_name": "VIP客户"}}
    assert published_copy(spark, engine) == after
    # the earlier copy is gone, the published one stays
    folders = [p for p in Path(copies).glob("*/*") if p.is_dir()]
    assert [str(p) for p in folders] == [read_state(engine).published.location]


def test_a_run_that_changes_nothing_is_found_so_without_a_join(spark, engine, write):
    write({"a": [3, 5], "b": [5]}, [3, 5], now=T1)
    published = read_state(engine).published

    forced = write({"a": [3, 5], "b": [5]}, [3, 5], now=T2)  # no fingerprint: compares
    assert forced.read_from == "copy"
    assert (forced.inserted, forced.updated, forced.unchanged) == (0, 0, 2)
    assert {t: (c.matched, c.added, c.removed) for t, c in forced.statistics.per_tag.items()} == {
        3: (1, 0, 0), 5: (2, 0, 0)}
    assert forced.statistics.users_matched == 2 and "stage" not in forced.seconds
    assert read_state(engine).published == published  # nothing written, nothing published

    # task-tags of tag 3: b holds no 3 and matches none, a keeps 5 -> still nothing to change
    tag3 = write({"a": [3], "b": []}, [3], now=T2)
    assert (tag3.read_from, tag3.updated, tag3.unchanged, tag3.statistics.users_evaluated) == ("copy", 0, 1, 2)
    # a loses tag 3: the digests differ, the run compares row by row
    lost = write({"a": [], "b": []}, [3], now=T3)
    assert (lost.read_from, lost.updated, lost.unchanged, lost.statistics.per_tag[3].removed) == ("copy", 1, 0, 1)
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"a": [5], "b": [5]}
    assert published_copy(spark, engine) == table(engine)


def test_a_forced_run_of_every_user_over_the_same_tags_reads_no_row_of_the_copy(spark, engine, write):
    """The copy was summed up for the tags its run evaluated when it was written."""
    write({"a": [3, 5], "b": [5], "c": []}, [3, 5], now=T1)
    changed = write({"a": [3], "b": [5], "c": [3]}, [3, 5], now=T2)
    assert (changed.read_from, changed.updated, changed.inserted) == ("copy", 1, 1)
    location = Path(read_state(engine).published.location)
    for data in location.glob("kind=*/*.parquet"):
        data.unlink()  # only the copy's summary is left to compare with

    forced = write({"a": [3], "b": [5], "c": [3]}, [3, 5], now=T3)
    assert (forced.read_from, forced.inserted, forced.updated, forced.unchanged) == ("copy", 0, 0, 3)
    assert {t: c.matched for t, c in forced.statistics.per_tag.items()} == {3: 2, 5: 1}


def test_tag_names_in_the_copy_are_those_the_table_holds(spark, engine, write):
    """A renamed tag: rows the run does not change keep the old name; a deleted tag keeps
    the name each row had, read from the copy when the row changes."""
    write({"a": [3, 5], "b": [5]}, [3, 5], now=T1)
    save_tag(engine, 5, "VIP", RULE)
    with engine.begin() as conn:  # tag 3 deleted by hand
        conn.execute(tag_rules.delete().where(tag_rules.c.tag_id == 3))
        conn.execute(tag_definition.delete().where(tag_definition.c.tag_id == 3))
    lost = write({"a": [], "b": [5]}, [5], now=T2)
    assert (lost.read_from, lost.updated) == ("copy", 1)
    after = table(engine)
    assert after["a"][1:] == ([3], {"3": {"tag_name": "高频咨询"}})
    assert after["b"][1:] == ([5], {"5": {"tag_name": "VIP客户"}})  # unchanged: not rewritten
    assert published_copy(spark, engine) == after
    back = write({"a": [5], "b": [5]}, [5], now=T3)
    assert (back.read_from, back.updated) == ("copy", 1)
    assert table(engine)["a"][1:] == ([3, 5], {"3": {"tag_name": "高频咨询"}, "5": {"tag_name": "VIP"}})
    assert published_copy(spark, engine) == table(engine)


def test_task_users_runs_keep_the_copy_whole(spark, engine, write):
    write({"a": [3], "b": [3, 5], "c": [5]}, [3, 5], now=T1)
    users = write({"b": []}, [3, 5], user_ids=["b", "newcomer"], now=T2)
    assert (users.read_from, users.updated, users.inserted) == ("copy", 1, 0)
    added = write({"newcomer": [3]}, [3], user_ids=["newcomer"], now=T3)
    assert (added.read_from, added.inserted) == ("copy", 1)
    after = table(engine)
    assert {u: tags for u, (_, tags, _) in after.items()} == {"a": [3], "b": [], "c": [5], "newcomer": [3]}
    assert published_copy(spark, engine) == after
    # every user again, as the table holds them: nothing to change
    again = write({"a": [3], "b": [], "c": [5], "newcomer": [3]}, [3, 5], now=T4)
    assert (again.read_from, again.inserted, again.updated, again.unchanged) == ("copy", 0, 0, 3)


def test_a_copy_whose_files_are_gone_is_not_used(spark, engine, write):
    write({"a": [3], "b": [5]}, [3, 5], now=T1)
    shutil.rmtree(read_state(engine).published.location)
    again = write({"a": [3], "b": [3]}, [3, 5], now=T2)
    assert again.read_from == "user_tags" and "is gone" in again.copy_unused
    assert again.as_metadata()["current_rows_from"] == "user_tags"
    assert (again.updated, again.unchanged) == (1, 1)
    assert published_copy(spark, engine) == table(engine)  # published again
    assert write({"a": [3], "b": [3]}, [3, 5], now=T3).read_from == "copy"


def test_without_a_place_for_copies_every_run_reads_the_table(engine, write):
    write({"a": [3], "b": [5]}, [3, 5], now=T1, snapshot_root=None)
    again = write({"a": [], "b": [5], "c": [3]}, [3, 5], now=T2, snapshot_root=None)
    assert again.read_from == "user_tags" and "no place for a copy" in again.copy_unused
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 1)
    assert {u: r["tag_ids"] for u, r in read_user_tags(engine).items()} == {"a": [], "b": [5], "c": [3]}
    assert not sa.inspect(engine).has_table("user_tags_snapshot")  # nothing counted, no trigger made


def test_a_tag_run_keeps_its_copy_where_tags_yaml_says(spark, engine, yd_home, embedded_store, catalog, tmp_path):
    """`write.snapshot` of tags.yaml: by default YD_HOME/tags/user_tags_snapshot with a local
    Spark; `location` elsewhere; `enabled: false` keeps none."""
    from datetime import date

    from yd_platform.tags.config import TagsConfig, load_tags_config
    from yd_platform.tags.wiring.run import run_user_tags
    from yd_platform_tests.tags.ods_data import write_chat_ods

    write_chat_ods(embedded_store, catalog)
    shipped = load_tags_config().model_dump()

    said: list[str] = []

    def run(force: bool, **snapshot_settings):
        cfg = TagsConfig.model_validate({**shipped, "write": {**shipped["write"], "snapshot": {
            **shipped["write"]["snapshot"], **snapshot_settings}}})
        report = run_user_tags(spark, engine, embedded_store, cfg, catalog, date(2025, 10, 2), force=force,
                               log=said.append)
        return report.summary

    first = run(False)
    # the run's log says each phase as it begins, then the outcome
    assert said[0].startswith("task-all: reading the features of 2025-10-02")
    assert "comparing with user_tags" in said[1] and "-> " in said[2]
    assert (first.read_from, first.inserted) == ("user_tags", 3)
    assert read_state(engine).published.location.startswith(str(yd_home / "tags" / "user_tags_snapshot") + "/")
    forced = run(True)
    assert (forced.read_from, forced.inserted, forced.updated, forced.unchanged) == ("copy", 0, 0, 3)
    assert forced.as_metadata()["current_rows_from"] == "copy"

    elsewhere = str(tmp_path / "elsewhere")
    assert snapshot.snapshot_root(spark, elsewhere, bucket=None) == elsewhere
    assert run(True, location=elsewhere).read_from == "copy"  # the published copy still holds
    without = run(True, enabled=False)
    assert (without.read_from, without.unchanged) == ("user_tags", 3)
    assert "no place for a copy" in without.copy_unused
