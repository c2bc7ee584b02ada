"""One YAML reader for every config file: parsed once with the C loader, duplicate keys
refused, every mistake worded `<file>: <where>: <what>` in the file's own error class."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from yd_platform.catalog.loader import CatalogError, parse_catalog
from yd_platform.catalog.yaml_files import LOADER, parse_yaml, read_yaml
from yd_platform.checks.rules import RuleConfigError, read_alerts_file
from yd_platform.incentives.config import IncentivesConfigError, parse_incentives
from yd_platform.notify.config import load_notify_config
from yd_platform.tags.config import TagsConfigError, load_tags_config


def test_the_c_loader_is_used():
    assert LOADER is yaml.CSafeLoader


def test_duplicate_keys_name_both_lines():
    with pytest.raises(ValueError, match=r"^f\.yaml: rules\[0\]: duplicate key 'sql' at line 3 \(first defined at line 2\)$"):
        parse_yaml("rules:\n  - sql: a\n    sql: b\n", "f.yaml")


def test_every_loader_speaks_the_same_way(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n", encoding="utf-8")
    expected = f"{bad}: top level: duplicate key 'a' at line 2 (first defined at line 1)"
    for load, error in (
        (lambda: parse_catalog(bad.read_text(), str(bad)), CatalogError),
        (lambda: read_alerts_file(bad), RuleConfigError),
        (lambda: parse_incentives(bad.read_text(), str(bad)), IncentivesConfigError),
        (lambda: load_tags_config(bad), TagsConfigError),
    ):
        with pytest.raises(error) as caught:
            load()
        assert str(caught.value) == expected


def test_broken_syntax_and_missing_files(tmp_path: Path):
    with pytest.raises(RuleConfigError, match=r"^a\.yaml: line 2: not valid YAML: "):
        parse_yaml("rules: [1,\n", "a.yaml", RuleConfigError)
    with pytest.raises(TagsConfigError, match="no.yaml: file not found"):
        read_yaml(tmp_path / "no.yaml", TagsConfigError)
    with pytest.raises(CatalogError, match="top level: must be a mapping, not list"):
        parse_catalog("- 1\n")


def test_notify_section_mistakes_name_the_field():
    with pytest.raises(RuleConfigError, match=r"^alerts\.yaml: notify\.channels\.x\.type: "):
        load_notify_config({"notify": {"channels": {"x": {"type": "pager"}}}})
