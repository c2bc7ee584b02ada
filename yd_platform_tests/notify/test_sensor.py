"""End to end: a blocking check fails in the real publish job, the yd_notify sensor tells WeCom."""

import dagster as dg

from yd_platform.definitions import build_definitions
from yd_platform.notify.defs import SENSOR_NAME
from yd_platform.pipeline.assets import merged_key
from yd_platform.resources.app_db import AppDatabaseResource
from yd_platform_tests.checks.helpers import put_raw, reviews


def test_failed_check_from_a_real_run_reaches_wecom(yd_home, instance, catalog, receiver, monkeypatch):
    monkeypatch.setenv("YD_WECOM_WEBHOOK_URL", f"{receiver.url}/cgi-bin/webhook/send?key=k-secret")
    defs = build_definitions(catalog)
    ds = catalog.dataset("pdd", "badscore")
    put_raw(ds, "2025-10-02", "pdd_flagship", reviews("a", 2) + reviews("a", 1, score=1))
    defs.resolve_job_def("pdd__badscore__publish").execute_in_process(
        partition_key="2025-10-02", instance=instance, raise_on_error=False)

    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    app_db = AppDatabaseResource(url=f"sqlite:///{yd_home / 'app.db'}")
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources={"app_db": app_db}) as context:
        result = sensor(context)
    assert "sent" in str(result.skip_message)
    texts = [p.body["markdown"]["content"] for p in receiver.delivered("/cgi-bin/webhook/send")]
    dup = next(t for t in texts if "keys_unique" in t)
    assert merged_key(ds).to_user_string() in dup and "partition: 2025-10-02" in dup and "failing: 1" in dup
    assert any("run failed: pdd__badscore__publish" in t for t in texts)
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources={"app_db": app_db}) as context:
        sensor(context)
    assert len(receiver.delivered("/cgi-bin/webhook/send")) == len(texts)  # nothing twice
