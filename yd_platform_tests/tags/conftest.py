"""One Spark session for all tag tests (starting the JVM dominates their run time)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.spark import spark_session

    session = spark_session(load_tags_config())
    yield session
    session.stop()
