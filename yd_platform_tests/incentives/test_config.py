"""incentives.yaml: the packaged file loads; bad rules fail at load naming city, month and field."""

from __future__ import annotations

import pytest
import yaml

from yd_platform.incentives.config import IncentivesConfigError, load_incentives_config, parse_incentives
from yd_platform_tests.incentives.helpers import TEST_CONFIG


def test_packaged_config_holds_the_five_campaigns_the_old_system_ran():
    cfg = load_incentives_config()
    assert {"BJ", "SH"} <= set(cfg.cities)
    campaigns = sorted((city, month) for city, months in cfg.rules.items() for month in months)
    assert campaigns == [("BJ", "2025-04"), ("BJ", "2025-05"), ("SH", "2025-03"), ("SH", "2025-04"), ("SH", "2025-05")]
    april = cfg.rule_set("BJ", "2025-04")
    assert april.lucky.number == "8" and april.prize_table()["接好运万元以上"] == 66
    assert (april.contract_amount_cap, april.work_order_cap) == (100000, 100000)
    assert cfg.contracts_card("BJ", "2025-04") == 1616 and cfg.contracts_card("BJ", "2025-07") == 1701
    assert cfg.rule_set("SH", "2025-03").lucky is None
    assert cfg.rule_set("BJ", "1999-01") is None


def _with(old: str, new: str) -> str:
    assert old in TEST_CONFIG
    return TEST_CONFIG.replace(old, new)


def _with_rule_set(city: str, month: str, rule_set: dict) -> str:
    """TEST_CONFIG with one city's month replaced by `rule_set`."""
    config = yaml.safe_load(TEST_CONFIG)
    config["rules"][city][month] = rule_set
    return yaml.safe_dump(config, allow_unicode=True)


BAD = [
    ("tier threshold negative", _with("threshold: 40000", "threshold: -5"),
     "city 'BJ', month '2025-06', field 'tiers.0.tiers.0.threshold'"),
    ("thresholds not increasing", _with("threshold: 60000", "threshold: 30000"),
     "city 'BJ', month '2025-06', field 'tiers.0': thresholds must strictly increase"),
    ("lucky number two digits", _with('number: "8"', 'number: "88"'),
     "city 'BJ', month '2025-06', field 'lucky.number': Value error, must be one digit"),
    ("unknown field", _with("contract_amount_cap: 50000", "contract_amount_capp: 50000"),
     "city 'BJ', month '2025-06', field 'contract_amount_capp': Extra inputs are not permitted"),
    ("bad month key", _with('"2025-06":', '"2025-13":'), "city 'BJ', month '2025-13': not a month"),
    ("unknown city", _with("rules:\n  BJ:", "rules:\n  GZ:"), "city 'GZ': has rules but is not listed"),
    ("wrong ladder kind", _with("- by: amount", "- by: amout"),
     "city 'BJ', month '2025-06', field 'tiers.0.by'"),
    ("empty rule set", _with_rule_set("BJ", "2025-06", {"person_key": "housekeeper"}),
     "city 'BJ', month '2025-06': a rule set needs 'lucky' or 'tiers'"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_rules_name_city_month_and_field(case, text, message):
    with pytest.raises(IncentivesConfigError) as err:
        parse_incentives(text, source="incentives.yaml")
    assert str(err.value).startswith("incentives.yaml: ")
    assert message.replace("Value error, ", "") in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(IncentivesConfigError, match="incentives config file not found"):
        load_incentives_config(tmp_path / "nope.yaml")


def test_unknown_template_and_placeholder_are_refused():
    text = _with("      contract_amount_cap: 50000", "      contract_amount_cap: 50000\n      template: nope")
    with pytest.raises(IncentivesConfigError, match="city 'BJ', month '2025-06', field 'template': 'nope'"):
        parse_incentives(text)
    text = _with("  send_interval_seconds: 0", "  send_interval_seconds: 0\n  templates: {a: '{who}'}")
    with pytest.raises(IncentivesConfigError, match="template 'a': unknown or bad placeholder 'who'"):
        parse_incentives(text)
