"""The tag tables in the app database, on SQLite and real MariaDB (fixture `engine` in the
tags conftest): a tag's newest active rule is the one the runs load."""

import pytest

from yd_platform.tags.tables import load_tags, save_tag

pytestmark = pytest.mark.slow


def test_rules_load_newest_active_rule(engine):
    newer = {"logic": "OR", "conditions": [{"field": "chat_messages", "operator": ">=", "value": 5,
                                            "type": "number"}]}
    save_tag(engine, 3, "高频咨询", newer, category="行为分析")
    tags = {t.tag_id: t for t in load_tags(engine)}
    assert tags[3].rule == newer and tags[3].category == "行为分析"
    assert [t.tag_id for t in load_tags(engine, [5])] == [5]


def test_tables_made_by_several_requests_at_once(mysql_url):
    """A page asks the API for several things at once on a fresh app database: each request
    finds the tag tables missing and makes them; none fails because another made one first."""
    import threading

    import sqlalchemy as sa

    from yd_platform.tags.tables import ensure_tables, tag_definition

    engine = sa.create_engine(mysql_url)
    failures = []

    def request():
        try:
            ensure_tables(engine)
        except Exception as exc:  # noqa: BLE001 - collected and shown
            failures.append(exc)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tag_definition)).scalar() == 0
    engine.dispose()
