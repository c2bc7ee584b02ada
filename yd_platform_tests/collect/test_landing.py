"""Manual fallback: files dropped into landing/ are verified, filed as raw and flow on."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import pytest

from yd_platform.collect.defs import LANDING_SENSOR
from yd_platform.collect.landing import LANDING_TAG, LandingNameError, parse_landing_name
from yd_platform.definitions import build_definitions
from yd_platform.demo.data import report_xlsx
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.shops_sensor import sync_shops
from yd_platform.resources.core import object_store_from_env, shop_source_from_env

RAW = dg.AssetKey(["pdd", "badscore", "badscore_raw"])
MERGED = dg.AssetKey(["pdd", "badscore", "badscore_merged"])


def test_landing_names(catalog):
    daily, weekly, monthly = (catalog.dataset("pdd", c) for c in ("badscore", "kpi_weekly", "kpi_monthly"))
    assert parse_landing_name(daily, "pdd_flagship_2025-10-01.xlsx") == ("pdd_flagship", "2025-10-01")
    assert parse_landing_name(weekly, "pdd_kids_2025-09-24_2025-09-30.XLSX") == ("pdd_kids", "2025-09-24")
    assert parse_landing_name(monthly, "pdd_kids_2025-09.csv") == ("pdd_kids", "2025-09")
    for ds, name, reason in [
        (daily, "report.xlsx", "is not named"),
        (daily, "pdd_kids_2025-09.xlsx", "not a daily partition key"),
        (daily, "pdd_kids_2025-09-24_2025-09-30.xlsx", "weekly window"),
        (daily, "nobody_2025-10-01.xlsx", "unknown pdd shop"),
    ]:
        with pytest.raises(LandingNameError, match=reason):
            parse_landing_name(ds, name, {"pdd_kids", "pdd_flagship"})


def test_sensor_files_dropped_reports_and_downstream_follows(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    shops = sync_shops(instance, catalog, shop_source_from_env())["pdd"]
    ds = catalog.dataset("pdd", "badscore")
    store = object_store_from_env().client()
    dropped = {shop: report_xlsx(ds, shop, "2025-10-01") for shop in shops}
    for shop, data in dropped.items():
        store.put_bytes(f"landing/pdd/badscore/{shop}_2025-10-01.xlsx", data)
    store.put_bytes("landing/pdd/badscore/pdd_kids_2025-10-02.xlsx", b"<html><body>busy</body></html>")
    store.put_bytes("landing/pdd/badscore/badscore-final.xlsx", report_xlsx(ds, "pdd_kids", "2025-10-01"))

    sensor = defs.resolve_sensor_def(LANDING_SENSOR)
    context = dg.build_sensor_context(instance=instance, resources={"object_store": object_store_from_env()})
    result = sensor(context)
    requests = {r.tags[LANDING_TAG].rsplit("/", 1)[1]: r for r in result.run_requests}
    assert sorted(requests) == sorted([f"{s}_2025-10-01.xlsx" for s in shops] + ["pdd_kids_2025-10-02.xlsx"])
    rejected = [o.key for o in store.list("landing/pdd/badscore/rejected")]
    assert any(k.endswith("_badscore-final.xlsx") for k in rejected)  # no shop/date in the name

    now = datetime(2025, 10, 2, 2, 0, tzinfo=timezone.utc)
    before = dg.evaluate_automation_conditions(defs, instance, dg.AssetSelection.assets(MERGED),
                                               evaluation_time=now)
    job = defs.resolve_job_def(collect_job_name(ds))
    outcomes = {
        name: job.execute_in_process(partition_key=r.partition_key, tags=r.tags, instance=instance,
                                     raise_on_error=False).success
        for name, r in requests.items()
    }
    assert outcomes.pop("pdd_kids_2025-10-02.xlsx") is False  # an HTML page is no report
    assert all(outcomes.values())

    for shop in shops:
        assert store.get_bytes(f"raw/pdd/badscore/2025-10-01/{shop}.xlsx") == dropped[shop]
    assert store.list("raw/pdd/badscore/2025-10-02") == []
    assert [o.key for o in store.list("landing/pdd/badscore") if o.key.count("/") == 3] == []
    processed = store.list("landing/pdd/badscore/processed")
    assert len(processed) == len(shops)
    reasons = [store.get_bytes(o.key).decode() for o in store.list("landing/pdd/badscore/rejected")
               if o.key.endswith(".reason.txt")]
    assert any("HTML page" in r for r in reasons) and any("is not named" in r for r in reasons)

    event = instance.get_latest_materialization_event(RAW)
    assert event.asset_materialization.metadata["source"].value == "landing"

    # the filed partitions count like downloaded ones: merged is requested for the date
    evaluation = dg.evaluate_automation_conditions(defs, instance, dg.AssetSelection.assets(MERGED),
                                                   evaluation_time=now, cursor=before.cursor)
    assert "2025-10-01" in evaluation.get_requested_partitions(MERGED)

    again = sensor(dg.build_sensor_context(instance=instance, resources={"object_store": object_store_from_env()}))
    assert isinstance(again, dg.SkipReason)  # nothing left waiting


def test_a_corrected_file_under_the_same_name_gets_its_own_run(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    sync_shops(instance, catalog, shop_source_from_env())
    store = object_store_from_env().client()
    sensor = defs.resolve_sensor_def(LANDING_SENSOR)

    def run_keys():
        context = dg.build_sensor_context(instance=instance, resources={"object_store": object_store_from_env()})
        return [r.run_key for r in sensor(context).run_requests]

    name = "landing/pdd/badscore/pdd_kids_2025-10-01.csv"
    store.put_bytes(name, "评价ID,订单号,评分\nr1,o1,1\n".encode())
    first = run_keys()
    assert run_keys() == first  # still waiting: the same request, which Dagster runs once
    store.put_bytes(name, "评价ID,订单号,评分\nr1,o1,5\n".encode())  # same name, same size
    assert run_keys() != first


def test_a_rejected_landing_file_is_not_retried_by_the_instance(yd_home, catalog):
    defs = build_definitions(catalog)
    with dg.instance_for_test(overrides={"run_retries": {"enabled": True, "max_retries": 2}}) as instance:
        sync_shops(instance, catalog, shop_source_from_env())
        store = object_store_from_env().client()
        store.put_bytes("landing/pdd/badscore/pdd_kids_2025-10-01.xlsx", b"<html><body>busy</body></html>")
        context = dg.build_sensor_context(instance=instance, resources={"object_store": object_store_from_env()})
        [request] = defs.resolve_sensor_def(LANDING_SENSOR)(context).run_requests
        result = defs.resolve_job_def(collect_job_name(catalog.dataset("pdd", "badscore"))).execute_in_process(
            partition_key=request.partition_key, tags=request.tags, instance=instance, raise_on_error=False)
        assert not result.success
        assert instance.get_run_by_id(result.run_id).tags["dagster/will_retry"] == "false"  # moved to rejected/
