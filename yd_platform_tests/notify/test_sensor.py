"""End to end: a blocking check fails in the real publish job, the yd_notify sensor tells WeCom."""

import dagster as dg

from yd_platform.datasets.keys import merged_key
from yd_platform.definitions import build_definitions
from yd_platform.notify.defs import SENSOR_NAME
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform_tests.failing_check import publish_with_duplicate_keys
from yd_platform_tests.robots import WECOM_PATH


def test_failed_check_from_a_real_run_reaches_wecom(yd_home, embedded_store, instance, catalog, robot):
    defs = build_definitions(catalog)
    ds = catalog.dataset("pdd", "badscore")
    publish_with_duplicate_keys(defs, catalog, instance, embedded_store, "2025-10-02")

    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    resources = {"app_db": AppDatabaseResource(url=f"sqlite:///{yd_home / 'app.db'}"),
                 "alert_channels": ChannelsResource(robots={"ops_wecom": RobotSettings(url=robot.webhook())})}
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources=resources) as context:
        result = sensor(context)
    assert "sent" in str(result.skip_message)
    texts = robot.texts(WECOM_PATH)
    dup = next(t for t in texts if "keys_unique" in t)
    assert merged_key(ds).to_user_string() in dup and "partition: 2025-10-02" in dup and "failing: 1" in dup
    assert any("run failed: pdd__badscore__publish" in t for t in texts)
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources=resources) as context:
        sensor(context)
    assert len(robot.delivered(WECOM_PATH)) == len(texts)  # nothing twice
