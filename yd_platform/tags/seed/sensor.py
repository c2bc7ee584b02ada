"""The `tag_seed` sensor: loads the shipped tags when the daemon first starts.

Every deployment runs the daemon, so the seed lands on first start without a manual
step; afterwards each tick finds nothing new (one small query) and skips.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform.tags.seed.shipped import TagSeed, apply_seed


def build_seed_sensor(seed: TagSeed) -> dg.SensorDefinition:
    @dg.sensor(name="tag_seed", minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Inserts the tags of the tags.yaml seed that were never seeded; never edits a tag.")
    def tag_seed(context: dg.SensorEvaluationContext, app_db: AppDatabaseResource) -> dg.SkipReason:
        return dg.SkipReason(apply_seed(app_db.engine(), seed).summary())

    return tag_seed
