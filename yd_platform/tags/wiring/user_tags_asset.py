"""The `user_tags` asset, its run config (the old task-all / task-tags / task-users modes)
and the automation that refreshes tags after new ODS partitions land and pass their checks.
"""


from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_pyspark import LazyPySparkResource
from pydantic import Field

from yd_platform.catalog import Catalog
from yd_platform.datasets.keys import ods_key
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.resources.spark import SparkResource
from yd_platform.tags.config import TagsConfig
from yd_platform.tags.spark_session import open_session
from yd_platform.tags.wiring.run import TagRunError, run_user_tags

USER_TAGS = dg.AssetKey("user_tags")
GROUP = "tags"


class UserTagsConfig(dg.Config):
    """Empty config = every active tag for every user (task-all)."""

    tag_ids: list[int] = Field(default_factory=list,
                               description="Only these tags (task-tags); other tags of a user are kept.")
    user_ids: list[str] = Field(default_factory=list,
                                description="Only these users (task-users); with or without tag_ids.")
    today: str = Field(default="", description="YYYY-MM-DD for recent_days and the feature window; "
                                               "default: today in the configured timezone.")
    force: bool = Field(default=False, description="Compare with user_tags even when the inputs (feature "
                                                   "files, rules, day) are those of the last run of the same scope.")

    def today_date(self, timezone: str) -> date:
        if not self.today:
            return datetime.now(ZoneInfo(timezone)).date()
        try:
            return date.fromisoformat(self.today)
        except ValueError as exc:
            raise dg.Failure(f"user_tags config: today {self.today!r} is not a date YYYY-MM-DD") from exc


def automation_condition(window_days: int) -> dg.AutomationCondition:
    """After any ODS dependency updated (and it is no longer running), unless a partition
    of the last `window_days` has a failed blocking check.

    `any_deps_missing` / `all_deps_blocking_checks_passed` would look at every historic
    partition of the daily ODS tables, most of which never exist; so the condition looks
    at the updates themselves and the failures in the window the tags read.
    """
    A = dg.AutomationCondition
    recent_blocking_failure = A.any_deps_match(
        A.in_latest_time_window(timedelta(days=window_days))
        & A.any_checks_match(A.check_failed(), blocking_only=True)
    ).with_label("a recent ODS partition failed a blocking check")
    ods_updated = A.any_deps_match(
        A.newly_updated() & ~A.executed_with_root_target()
    ).with_label("an ODS partition updated")
    return (
        ods_updated.since_last_handled()
        & ~A.any_deps_in_progress()
        & ~recent_blocking_failure
        & ~A.in_progress()
    ).with_label("new ODS partitions landed and passed their checks")


def per_tag_metadata(rows: list[dict[str, object]]) -> dict[str, dg.MetadataValue]:
    """The per-tag counts (JSON, so the HTTP API's task status shows them as they are) and
    `tag_<id>_matched` per tag for the asset's plots."""
    if not rows:
        return {}
    meta: dict[str, dg.MetadataValue] = {"per_tag": dg.MetadataValue.json(rows)}
    for row in rows:
        meta[f"tag_{row['tag_id']}_matched"] = dg.MetadataValue.int(int(row["users_matched"]))
    return meta


def build_user_tags_asset(cfg: TagsConfig, catalog: Catalog) -> dg.AssetsDefinition:
    sources = [catalog.dataset(*entry.platform_code) for entry in cfg.source.datasets]

    @dg.asset(
        key=USER_TAGS,
        group_name=GROUP,
        deps=[ods_key(ds) for ds in sources],
        automation_condition=automation_condition(cfg.source.window_days),
        kinds={"spark", "mysql"},
        description="Tags per user from the rules in tag_rules, evaluated in one Spark pass over "
                    "per-user features of the ODS tables (tags.yaml) and merged into user_tags.",
    )
    def user_tags(context: dg.AssetExecutionContext, config: UserTagsConfig, app_db: AppDatabaseResource,
                  object_store: ObjectStoreResource, spark: SparkResource,
                  tags_pyspark: LazyPySparkResource) -> dg.MaterializeResult:
        try:
            report = run_user_tags(open_session(tags_pyspark, spark), app_db.engine(), object_store.client(), cfg,
                                   catalog, config.today_date(cfg.timezone), config.tag_ids, config.user_ids,
                                   log=context.log.info, force=config.force)
        except TagRunError as exc:
            raise dg.Failure(description=str(exc)) from exc
        for problem in report.problems:
            context.log.warning(f"rule skipped: {problem}")
        return dg.MaterializeResult(metadata={**report.as_metadata(), **per_tag_metadata(report.per_tag())})

    return user_tags
