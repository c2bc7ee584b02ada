"""The `source:` section of tags.yaml: the feature schema it gives with the catalog, errors
naming the entry; snapshot datasets, whose columns are features under their own names and
types (a column taken as it is needs one row per user, snapshot: true, and must exist)."""

import pytest
import yaml

from yd_platform.tags.config import DEFAULT_CONFIG, TagsConfigError, load_tags_config
from yd_platform.tags.features.config import feature_schema


def test_default_config_feature_schema(catalog):
    schema = feature_schema(load_tags_config(catalog=catalog).source, catalog)
    assert schema["user_id"] == "string"
    assert schema["chat_sessions"] == "number" and schema["last_chat_at"] == "date"
    assert schema["pdd_chat_agents"] == "list" and schema["tm_chat_shops"] == "number"


def test_config_errors_name_the_entry(tmp_path, catalog):
    bad = tmp_path / "tags.yaml"
    bad.write_text("source:\n  datasets:\n    - dataset: pdd/chat\n      user_column: buyer_id\n"
                   "      features:\n        x: {agg: sum, column: nope}\n", encoding="utf-8")
    with pytest.raises(TagsConfigError, match=r"source.datasets\[0\] \(pdd/chat\).features.x: column 'nope'"):
        load_tags_config(bad, catalog)
    bad.write_text("source:\n  datasets:\n    - dataset: pdd/chat\n      user_column: buyer_id\n"
                   "      features:\n        x: {agg: median}\n", encoding="utf-8")
    with pytest.raises(TagsConfigError, match=r"tags.yaml: source.datasets.0.features.x.agg"):
        load_tags_config(bad, catalog)


def test_snapshot_columns_are_features_with_catalog_types(catalog):
    schema = feature_schema(load_tags_config(catalog=catalog).source, catalog)
    assert {k: schema[k] for k in ("age", "user_level", "registration_date", "cash_balance", "last_login_date")} == {
        "age": "number", "user_level": "string", "registration_date": "date", "cash_balance": "number",
        "last_login_date": "date"}


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(snapshot=False), r"source.datasets\[\d\] \(dw/user_basic_info\): columns are taken as they "
                                         r"are, which needs snapshot: true"),
    (lambda d: d["columns"].append("net_worth"), r"\(dw/user_basic_info\).columns: 'net_worth' is not a column"),
])
def test_wrong_snapshot_entries_are_named(tmp_path, catalog, change, message):
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    change(next(d for d in raw["source"]["datasets"] if d["dataset"] == "dw/user_basic_info"))
    path = tmp_path / "tags.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TagsConfigError, match=message):
        load_tags_config(path, catalog=catalog)
