"""The shipped tags (tags.yaml `seed:`): loaded into the tag tables once, never over an
operator's edits; refused at load when a seed rule cannot run on the configured features."""

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.config import DEFAULT_CONFIG, TagsConfigError, load_tags_config
from yd_platform.tags.seed.sensor import build_seed_sensor
from yd_platform.tags.seed.shipped import TagSeed, apply_seed, seed_log
from yd_platform.tags.tables import load_tags, save_tag, tag_category, tag_definition, tag_rules
from yd_platform_tests.databases import app_database

OLD_TAGS = {1: "高净值用户", 2: "活跃交易者", 3: "低风险用户", 4: "新注册用户", 5: "VIP客户",
            6: "现金充足用户", 7: "年轻用户", 8: "最近活跃用户"}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.slow)])
def empty_engine(request, tmp_path):
    """An empty app database, on SQLite and on the real MariaDB (the tags package's `engine`
    already holds two tags; seeding starts from none)."""
    with app_database(request.param, tmp_path) as app:
        yield app


@pytest.fixture(scope="module")
def seed(catalog) -> TagSeed:
    return load_tags_config(catalog=catalog).seed


def tables(engine) -> dict[str, list[tuple]]:
    """Every row of the tag tables, for before/after comparisons."""
    with engine.connect() as conn:
        return {t.name: sorted(tuple(str(v) for v in r) for r in conn.execute(sa.select(t)))
                for t in (tag_category, tag_definition, tag_rules)}


def test_old_tags_and_categories_are_seeded(empty_engine, seed):
    result = apply_seed(empty_engine, seed)
    assert result.inserted == [f"category {i}" for i in range(1, 8)] + [f"tag {i}" for i in range(1, 9)]
    tags = {t.tag_id: t for t in load_tags(empty_engine)}
    assert {i: t.tag_name for i, t in tags.items()} == OLD_TAGS
    assert tags[1].rule == {"logic": "AND", "conditions": [
        {"field": "total_asset_value", "operator": ">=", "value": 100000, "type": "number"}]}
    assert tags[5].category == "用户价值"
    assert tags[5].rule["conditions"][0] == {"field": "user_level", "operator": "in",
                                             "value": ["VIP2", "VIP3"], "type": "string"}
    assert tags[7].rule["conditions"][0]["value"] == [18, 30]
    with empty_engine.connect() as conn:
        categories = dict(conn.execute(sa.select(tag_category.c.category_id, tag_category.c.category_name)).all())
    assert categories[1] == "用户价值" and categories[7] == "人口特征"
    # every tag's category is a row of tag_category
    assert {t.category for t in tags.values()} <= set(categories.values())


def test_seeding_twice_changes_nothing_and_keeps_operator_edits(empty_engine, seed):
    apply_seed(empty_engine, seed)
    first = tables(empty_engine)
    again = apply_seed(empty_engine, seed)
    assert again.inserted == [] and again.kept == [] and again.summary() == "tag seed v1: nothing new"
    assert tables(empty_engine) == first

    # the operator renames tag 1 and gives tag 2 a new rule, deactivates 3, deletes 8
    save_tag(empty_engine, 1, "高净值客户", {"field": "total_asset_value", "operator": ">=", "value": 150000,
                                        "type": "number"}, category="用户价值")
    save_tag(empty_engine, 2, "活跃交易者", {"field": "trade_count_30d", "operator": ">", "value": 20,
                                        "type": "number"}, category="行为特征")
    with empty_engine.begin() as conn:
        conn.execute(tag_definition.update().where(tag_definition.c.tag_id == 3).values(is_active=False))
        conn.execute(tag_rules.delete().where(tag_rules.c.tag_id == 8))
        conn.execute(tag_definition.delete().where(tag_definition.c.tag_id == 8))
    edited = tables(empty_engine)

    apply_seed(empty_engine, seed)
    assert tables(empty_engine) == edited
    # a newer seed adds its new tag and still leaves every seeded id alone
    newer = TagSeed.model_validate({**seed.model_dump(), "version": 2, "tags": [
        *seed.model_dump()["tags"],
        {"id": 9, "name": "高频交易用户", "category": "行为特征",
         "rule": {"field": "trade_count_30d", "operator": ">=", "value": 50, "type": "number"}}]})
    assert apply_seed(empty_engine, newer).inserted == ["tag 9"]
    tags = {t.tag_id: t for t in load_tags(empty_engine)}
    assert tags[1].tag_name == "高净值客户" and tags[1].rule["value"] == 150000
    assert tags[2].rule["value"] == 20
    assert 3 not in tags and 8 not in tags and tags[9].tag_name == "高频交易用户"
    seeded = [(r["kind"], r["item_id"], r["seed_version"]) for r in seed_log(empty_engine) if r["kind"] == "tag"]
    assert seeded[-2:] == [("tag", 8, 1), ("tag", 9, 2)]


def test_ids_the_operator_already_uses_are_kept(empty_engine, seed):
    save_tag(empty_engine, 4, "我的标签", {"field": "age", "operator": ">", "value": 60, "type": "number"},
             category="用户价值")
    result = apply_seed(empty_engine, seed)
    assert "tag 4" in result.kept and "category 1" in result.kept  # 用户价值 existed (id 1, by name)
    assert "kept the operator's" in result.summary()
    tags = {t.tag_id: t for t in load_tags(empty_engine)}
    assert tags[4].tag_name == "我的标签" and tags[4].rule["value"] == 60
    assert tags[5].tag_name == "VIP客户"


def test_seed_sensor_loads_the_tags_on_its_first_tick(tmp_path, seed):
    db = AppDatabaseResource(url=f"sqlite:///{tmp_path / 'app.db'}")
    sensor = build_seed_sensor(seed)
    first = sensor(dg.build_sensor_context(resources={"app_db": db}))
    assert "inserted" in first.skip_message and "tag 8" in first.skip_message
    assert [t.tag_id for t in load_tags(db.engine())] == list(range(1, 9))
    second = sensor(dg.build_sensor_context(resources={"app_db": db}))
    assert second.skip_message == "tag seed v1: nothing new"


def _config_with_seed(tmp_path, change) -> str:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    change(raw["seed"])
    path = tmp_path / "tags.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("change, message", [
    (lambda s: s["tags"][0]["rule"]["conditions"][0].update(field="net_worth"),
     r"tags.yaml: seed: seed tag 1: \$.conditions\[0\].field: unknown field 'net_worth'"),
    (lambda s: s["tags"][6]["rule"]["conditions"][0].update(value=[30, 18]),
     r"seed tag 7: \$.conditions\[0\].value: in_range needs low <= high"),
    (lambda s: s["tags"][1].update(category="不存在"), r"seed: .*categories that are not in seed.categories: \['不存在'\]"),
    (lambda s: s["tags"].append(dict(s["tags"][0])), r"seed: .*duplicate tag ids \[1\]"),
])
def test_a_wrong_seed_is_refused_at_load(tmp_path, catalog, change, message):
    with pytest.raises(TagsConfigError, match=message):
        load_tags_config(_config_with_seed(tmp_path, change), catalog=catalog)
