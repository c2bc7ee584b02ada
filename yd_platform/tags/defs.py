"""Definitions of the tags stage: the `user_tags` asset, `user_tags_job` (launchable with
`dagster job launch` and run config), the `tag_seed` sensor and the session resource only
this stage uses (`tags_pyspark`, dagster-pyspark's, with the stage's settings and the
code location's `spark` resource: master, S3A)."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.resources.spark import spark_from_env
from yd_platform.tags.config import load_tags_config
from yd_platform.tags.seed.sensor import build_seed_sensor
from yd_platform.tags.spark_session import SPARK_RESOURCE, pyspark_resource
from yd_platform.tags.wiring.user_tags_asset import USER_TAGS, build_user_tags_asset

USER_TAGS_JOB = "user_tags_job"


def build_defs(catalog: Catalog) -> dg.Definitions:
    cfg = load_tags_config(catalog=catalog)
    job = dg.define_asset_job(
        USER_TAGS_JOB, selection=[USER_TAGS],
        description="Compute user tags. Run config ops.user_tags.config: tag_ids (task-tags), "
                    "user_ids (task-users), today; empty = every tag for every user (task-all).")
    return dg.Definitions(assets=[build_user_tags_asset(cfg, catalog)], jobs=[job],
                          sensors=[build_seed_sensor(cfg.seed)],
                          resources={SPARK_RESOURCE: pyspark_resource(cfg.spark, spark_from_env())})
