"""The write tests run the write path as the asset does: keeping the platform's copy of
user_tags (in the test's folder), so each run after the first compares with the copy
unless someone else wrote the table."""

from __future__ import annotations

from datetime import datetime

import pytest


@pytest.fixture
def copies(tmp_path) -> str:
    """Where the runs of a test keep their copies of user_tags."""
    return str(tmp_path / "copies")


@pytest.fixture
def write(spark, engine, copies):
    """Run the write path with `found` given as {user: [matched evaluated tags]}."""
    from yd_platform.tags.write.write_user_tags import write_user_tags

    def run(found: dict[str, list[int]], evaluated, user_ids=None, now: datetime | None = None, database=None,
            **kwargs):
        """`database`: another app database than the test's `engine`."""
        frame = spark.createDataFrame([(u, ids) for u, ids in found.items()], "user_id string, tag_ids array<int>")
        kwargs.setdefault("snapshot_root", copies)
        return write_user_tags(spark, database or engine, frame, evaluated, user_ids, now=now, **kwargs)

    return run
