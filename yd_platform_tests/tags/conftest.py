"""Fixtures shared by the tag tests: one Spark session for all of them (starting the JVM
dominates their run time), and the app database holding two tags, on SQLite and on the
real MariaDB."""

from __future__ import annotations

import pytest

from yd_platform_tests.tag_rules import leaf, rule

CHAT_RULE = rule(leaf("chat_sessions", ">", 0))


@pytest.fixture(scope="session")
def spark():
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.spark_session import spark_session

    session = spark_session(load_tags_config().spark)
    yield session
    session.stop()


@pytest.fixture(params=["sqlite", "mariadb"])
def engine(engine):
    """The app database (the root fixture `engine`, on each of the two databases) with the
    tag tables and tags 3 (高频咨询) and 5 (VIP客户); `indirect` parametrizing picks one."""
    from yd_platform.tags.tables import ensure_tables, save_tag

    ensure_tables(engine)
    ensure_tables(engine)  # idempotent
    save_tag(engine, 3, "高频咨询", CHAT_RULE, category="行为分析")
    save_tag(engine, 5, "VIP客户", CHAT_RULE, category="价值管理")
    return engine
