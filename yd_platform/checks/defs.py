"""Definitions of the checks stage: generated data checks, freshness, alert rules."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.checks.dataset_checks import build_all_data_checks
from yd_platform.checks.freshness import build_freshness_check, build_freshness_sensor
from yd_platform.checks.rule_checks import build_all_rule_checks
from yd_platform.checks.rules import load_rules

# Partitioned asset checks are a preview feature in Dagster 1.13; they are what lets the
# UI and blocking show a status per period, so the notice is silenced once here.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_defs(catalog: Catalog) -> dg.Definitions:
    freshness = [build_freshness_check(ds, utc_now) for ds in catalog.datasets()]
    return dg.Definitions(
        asset_checks=[*build_all_data_checks(catalog), *freshness, *build_all_rule_checks(load_rules(catalog))],
        sensors=[build_freshness_sensor(catalog, utc_now)],
    )
