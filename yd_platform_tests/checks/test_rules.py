"""Alert rules: the shipped config loads, invalid rules fail naming the rule, rules run on data."""

import pyarrow as pa
import pytest

from yd_platform.checks.rules import RuleConfigError, load_rules, run_rule

BAD_REVIEWS = "minio.warehouse.ods.pdd.pdd_badscore"


def _load(catalog, *rules):
    return load_rules(catalog, {"rules": list(rules)}, channels={"ops_wecom"})


def test_shipped_rules_load(catalog):
    names = {rule.name for rule, _ in load_rules(catalog)}
    assert {"pdd_bad_review_rate", "pdd_conversion_drop", "pdd_response_time_rise", "pdd_kpi_shop_stopped"} <= names


@pytest.mark.parametrize("rule, message", [
    ({"name": "r_table", "table": "minio.warehouse.ods.pdd.nope", "sql": "SELECT 1"},
     "alert rule 'r_table': unknown table 'minio.warehouse.ods.pdd.nope'"),
    ({"name": "r_column", "table": BAD_REVIEWS, "sql": "SELECT shop_id FROM this_period WHERE stars < 2"},
     "alert rule 'r_column' on minio.warehouse.ods.pdd.pdd_badscore: invalid SQL"),
    ({"name": "r_syntax", "table": BAD_REVIEWS, "sql": "SELEC shop_id FROM this_period"},
     "alert rule 'r_syntax' on minio.warehouse.ods.pdd.pdd_badscore: invalid SQL"),
    ({"name": "r_both", "table": BAD_REVIEWS, "sql": "SELECT 1", "metric": "SELECT 1", "max": 1},
     "alert rule 'r_both': "),
    ({"name": "r_metric", "table": BAD_REVIEWS, "metric": "SELECT count(*), 1 FROM this_period", "max": 3},
     "alert rule 'r_metric': a metric query must return one column"),
    ({"name": "r_channel", "table": BAD_REVIEWS, "sql": "SELECT 1", "channels": ["pager"]},
     "alert rule 'r_channel': unknown channels ['pager']"),
    ({"name": "Bad Name", "table": BAD_REVIEWS, "sql": "SELECT 1"}, "alert rule 'Bad Name': name:"),
])
def test_invalid_rule_fails_naming_it(catalog, rule, message):
    with pytest.raises(RuleConfigError) as err:
        _load(catalog, rule)
    assert message in str(err.value)
    if rule["name"] == "r_column":
        assert "stars" in str(err.value)


def _reviews(shop_scores: dict[str, list[int]]) -> pa.Table:
    rows = [(shop, f"{shop}-{i}", str(score)) for shop, scores in shop_scores.items() for i, score in enumerate(scores)]
    return pa.table({"shop_id": [r[0] for r in rows], "review_id": [r[1] for r in rows],
                     "order_id": [r[1] for r in rows], "score": [r[2] for r in rows]})


def test_bad_review_rate_counts_failing_shops(catalog):
    rule, ds = next((r, d) for r, d in load_rules(catalog) if r.name == "pdd_bad_review_rate")
    table = _reviews({"pdd_flagship": [1, 1, 2, 1, 5], "pdd_outlet": [5, 5, 4, 1, 5], "pdd_kids": [1, 1]})
    outcome = run_rule(rule, ds, table, None)
    assert not outcome.passed and outcome.failing_count == 1
    assert '"shop_id": "pdd_flagship"' in outcome.metadata["sample"] and '"bad_rate": 0.8' in outcome.metadata["sample"]
    assert run_rule(rule, ds, _reviews({"pdd_outlet": [5, 5, 4, 1, 5]}), None).passed


def test_kpi_drop_and_stopped_shop_compare_with_last_period(catalog):
    rules = {r.name: (r, d) for r, d in load_rules(catalog)}

    def kpi(rates: dict[str, float]) -> pa.Table:
        return pa.table({"shop_id": list(rates), "agent": ["a"] * len(rates), "consultations": ["10"] * len(rates),
                         "conversion_rate": [str(v) for v in rates.values()]})

    rule, ds = rules["pdd_conversion_drop"]
    outcome = run_rule(rule, ds, kpi({"pdd_flagship": 0.30, "pdd_outlet": 0.50}),
                       kpi({"pdd_flagship": 0.40, "pdd_outlet": 0.52}))
    assert outcome.failing_count == 1 and "pdd_flagship" in outcome.metadata["sample"]
    assert run_rule(rule, ds, kpi({"pdd_flagship": 0.3}), None).passed  # no previous period

    rule, ds = rules["pdd_kpi_shop_stopped"]
    outcome = run_rule(rule, ds, kpi({"pdd_flagship": 0.3}), kpi({"pdd_flagship": 0.3, "pdd_kids": 0.2}))
    assert outcome.failing_count == 1 and "pdd_kids" in outcome.metadata["sample"]


def test_metric_rule_threshold(catalog):
    rule, ds = next((r, d) for r, d in load_rules(catalog) if r.name == "pdd_abnormal_order_ratio_high")
    table = pa.table({"shop_id": ["s", "s"], "goods_id": ["g1", "g2"], "abnormal_order_ratio": ["0.02", "0.10"]})
    outcome = run_rule(rule, ds, table, None)
    assert not outcome.passed and outcome.metadata["value"] == pytest.approx(0.06)
    within = pa.table({"shop_id": ["s", "s"], "goods_id": ["g1", "g2"], "abnormal_order_ratio": ["0.01", "0.03"]})
    assert run_rule(rule, ds, within, None).passed
