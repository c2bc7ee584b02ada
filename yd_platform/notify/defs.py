"""Definitions of the notify stage: the sensor that turns failed checks and runs into messages."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform.notify.config import load_notify_config
from yd_platform.notify.notifier import Notifier
from yd_platform.notify.pending import failing_checks, unannounced
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.resources.app_db import AppDatabaseResource

SENSOR_NAME = "yd_notify"


def build_notify_sensor(clock=None) -> dg.SensorDefinition:
    config = load_notify_config()

    @dg.sensor(
        name=SENSOR_NAME, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed checks (WARN/ERROR) and failed runs -> outbox -> WeCom / DingTalk / e-mail, "
                    "with dedupe, rate limits, retries, escalation and recovery notices.",
    )
    def _sensor(context: dg.SensorEvaluationContext, app_db: AppDatabaseResource,
                alert_channels: ChannelsResource):
        kwargs = {"clock": clock} if clock else {}
        engine = app_db.engine()
        summary = Notifier(engine, config, alert_channels, **kwargs).tick(
            context.instance, context.repository_def.asset_graph.asset_check_keys)
        if summary.disabled:
            context.log.warning(f"channels without their env vars: {', '.join(summary.disabled)}")
        pending = unannounced(failing_checks(engine), config, alert_channels)
        if pending:
            context.log.warning(pending)
            return dg.SkipReason(f"{pending}. {summary}")
        return dg.SkipReason(str(summary))

    return _sensor


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions(sensors=[build_notify_sensor()])
