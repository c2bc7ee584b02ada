"""No channel set while an ERROR check fails: the sensor, doctor and status say so.

A real publish run fails its blocking key check on a real instance; the sensor's channel
resource has no settings and no WeCom, DingTalk or mail variable is set (doctor and status
read the environment).
"""

import json

import dagster as dg

from yd_platform.cli import doctor
from yd_platform.cli import main as cli
from yd_platform.definitions import build_definitions
from yd_platform.notify.defs import SENSOR_NAME
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform_tests.failing_check import publish_with_duplicate_keys

CHANNEL_VARS = ("YD_WECOM_WEBHOOK_URL", "YD_DINGTALK_WEBHOOK_URL", "YD_DINGTALK_SECRET", "YD_SMTP_HOST",
                "YD_ALERT_MAIL_TO")
DAY = "2025-10-02"


def test_failing_check_without_channel_is_said_everywhere(yd_home, embedded_store, instance, catalog, monkeypatch,
                                                         capsys):
    for name in CHANNEL_VARS:
        monkeypatch.delenv(name, raising=False)
    defs = build_definitions(catalog)
    result = publish_with_duplicate_keys(defs, catalog, instance, embedded_store, DAY)
    failed = [e.asset_check_evaluation_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed]
    assert any(f.check_name == "keys_unique" for f in failed)

    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    app_db = AppDatabaseResource(url=f"sqlite:///{yd_home / 'app.db'}")
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources={"app_db": app_db, "alert_channels": ChannelsResource()}) as context:
        message = str(sensor(context).skip_message)
    assert message.startswith("ALERTS PENDING: ") and "no alert channel is set" in message
    assert "keys_unique" in message and DAY in message
    assert "YD_WECOM_WEBHOOK_URL" in message  # what to set

    check = doctor.check_pending_alerts()
    assert check.state == doctor.FAIL and "keys_unique" in check.detail, check.line()

    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", "2025-10-03", "--days", "2", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    listed = {(c["check"], c["partition"], c["severity"]) for c in out["failing_checks"]}
    assert ("keys_unique", DAY, "ERROR") in listed
    assert out["alerts_pending"].startswith("ALERTS PENDING")

    # once a channel is set the warning is gone (the alert itself is not re-sent by doctor)
    monkeypatch.setenv("YD_WECOM_WEBHOOK_URL", "http://127.0.0.1:9/cgi-bin/webhook/send?key=k")
    assert doctor.check_pending_alerts().state == doctor.WARN
