"""user_tags runs by itself after new ODS partitions land, not while they are still
running, and not when a recent ODS partition failed a blocking check."""

from datetime import UTC, datetime

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from yd_platform.definitions import build_definitions
from yd_platform.tags.wiring.user_tags_asset import USER_TAGS

PDD_CHAT_ODS = dg.AssetKey(["pdd", "chat", "chat_ods"])
TM_CHAT_ODS = dg.AssetKey(["tm", "chat", "chat_ods"])
NOW = datetime(2025, 10, 2, 4, 0, tzinfo=UTC)


def _evaluate(defs, instance, cursor=None):
    return dg.evaluate_automation_conditions(defs, instance, dg.AssetSelection.assets(USER_TAGS),
                                             evaluation_time=NOW, cursor=cursor)


def _land(instance, key, partition):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def _check(instance, key, partition, passed):
    """A blocking check result on the partition's latest materialization (as a real run records it)."""
    latest = instance.fetch_materializations(key, limit=1).records[0]
    target = AssetCheckEvaluationTargetMaterializationData(storage_id=latest.storage_id, run_id=latest.run_id,
                                                           timestamp=latest.timestamp)
    instance.report_runless_asset_event(dg.AssetCheckEvaluation(
        asset_key=key, check_name="rows_nonzero", passed=passed, partition=partition,
        target_materialization_data=target))


def test_user_tags_follow_new_ods_partitions(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    assert {k for k in defs.resolve_assets_def(USER_TAGS).asset_deps[USER_TAGS]} >= {PDD_CHAT_ODS, TM_CHAT_ODS}

    result = _evaluate(defs, instance)
    assert result.total_requested == 0  # nothing landed yet (historic partitions never existed)

    _land(instance, PDD_CHAT_ODS, "2025-10-01")
    _check(instance, PDD_CHAT_ODS, "2025-10-01", passed=True)
    result = _evaluate(defs, instance, result.cursor)
    assert result.get_num_requested(USER_TAGS) == 1

    result = _evaluate(defs, instance, result.cursor)
    assert result.total_requested == 0  # handled: no second run for the same update


def test_failed_blocking_check_holds_user_tags_until_fixed(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    result = _evaluate(defs, instance)

    _land(instance, TM_CHAT_ODS, "2025-10-01")
    _check(instance, TM_CHAT_ODS, "2025-10-01", passed=False)
    result = _evaluate(defs, instance, result.cursor)
    assert result.total_requested == 0

    result = _evaluate(defs, instance, result.cursor)
    assert result.total_requested == 0  # still held while the failure stands

    # the partition is rerun: the failure no longer describes its latest data
    # (in a real run the checks run in the same run, which any_deps_in_progress waits for)
    _land(instance, TM_CHAT_ODS, "2025-10-01")
    result = _evaluate(defs, instance, result.cursor)
    assert result.get_num_requested(USER_TAGS) == 1
