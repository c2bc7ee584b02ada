"""Manual fallback: files dropped into landing/ are verified, filed as raw and flow on; a
file for a period the dataset has no partition for is rejected with the reason, and does not
hold back the good files of the same tick (shown on a real webserver and daemon)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import requests

from yd_platform.collect.defs import LANDING_SENSOR
from yd_platform.collect.landing import LandingNameError, parse_landing_name
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import LANDING_TAG
from yd_platform.datasets.partitions import time_partitions
from yd_platform.definitions import build_definitions
from yd_platform.demo.data import report_xlsx
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.resources.dagster_webserver import CODE_LOCATION, REPOSITORY
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.resources.shops import shop_source_from_env
from yd_platform_tests.processes import (
    free_port,
    log_tail,
    start_daemon,
    start_webserver,
    stop_group,
    wait_http,
    wait_until,
)

RAW = dg.AssetKey(["pdd", "badscore", "badscore_raw"])
MERGED = dg.AssetKey(["pdd", "badscore", "badscore_merged"])


def test_landing_names(catalog):
    daily, weekly, monthly = (catalog.dataset("pdd", c) for c in ("badscore", "kpi_weekly", "kpi_monthly"))
    assert parse_landing_name(daily, "pdd_flagship_2025-10-01.xlsx") == ("pdd_flagship", "2025-10-01")
    assert parse_landing_name(weekly, "pdd_kids_2025-09-25_2025-10-01.XLSX") == ("pdd_kids", "2025-09-25")
    assert parse_landing_name(monthly, "pdd_kids_2025-09.csv") == ("pdd_kids", "2025-09")
    for ds, name, reason in [
        (daily, "report.xlsx", "is not named"),
        (daily, "pdd_kids_2025-09.xlsx", "not a daily partition key"),
        (daily, "pdd_kids_2025-09-24_2025-09-30.xlsx", "weekly window"),
        (daily, "nobody_2025-10-01.xlsx", "unknown pdd shop"),
    ]:
        with pytest.raises(LandingNameError, match=reason):
            parse_landing_name(ds, name, {"pdd_kids", "pdd_flagship"})


OUTSIDE = "period outside the dataset's partitions"


def test_landing_periods_must_be_partitions_of_the_dataset(catalog):
    daily, weekly = catalog.dataset("pdd", "badscore"), catalog.dataset("pdd", "kpi_weekly")
    first, last = time_partitions(daily).get_first_partition_key(), time_partitions(daily).get_last_partition_key()
    valid = f"(pdd/badscore daily partitions: {first} .. {last})"
    for name, why in [("pdd_flagship_2020-01-01.xlsx", "2020-01-01 is before the first one"),
                      ("pdd_flagship_2099-12-31.xlsx", "2099-12-31 is after the last one")]:
        with pytest.raises(LandingNameError) as err:
            parse_landing_name(daily, name, {"pdd_flagship"})
        assert str(err.value) == f"{name!r}: {OUTSIDE}: {why} {valid}"
    start = time_partitions(weekly).get_first_partition_key()
    misaligned = (date.fromisoformat(start) + timedelta(days=1)).isoformat()
    with pytest.raises(LandingNameError, match=rf"{OUTSIDE}: {misaligned} is not the start of one of its weekly windows"):
        parse_landing_name(weekly, f"pdd_kids_{misaligned}.xlsx")
    # as of a time, the partitions that existed then
    with pytest.raises(LandingNameError, match="after the last one"):
        parse_landing_name(daily, "pdd_flagship_2025-10-01.xlsx", now=datetime(2025, 9, 20, tzinfo=UTC))


def drop_reports(store, ds, shops, day: str) -> dict[str, bytes]:
    """Valid reports of every shop for `day` and two for periods the dataset has no partition for."""
    dropped = {shop: report_xlsx(ds, shop, day) for shop in shops}
    for shop, data in dropped.items():
        store.put_bytes(f"landing/pdd/badscore/{shop}_{day}.xlsx", data)
    for period in ("2020-01-01", "2099-12-31"):
        store.put_bytes(f"landing/pdd/badscore/{shops[0]}_{period}.xlsx", report_xlsx(ds, shops[0], day))
    return dropped


def rejected_reasons(store) -> dict[str, str]:
    """File name (without the time stamp) -> reason, of the files in rejected/."""
    reasons = {}
    for obj in store.list("landing/pdd/badscore/rejected"):
        if obj.key.endswith(".reason.txt"):
            name = obj.key.rsplit("/", 1)[1].removesuffix(".reason.txt").split("_", 1)[1]
            reasons[name] = store.get_bytes(obj.key).decode()
    return reasons


def test_sensor_rejects_periods_outside_the_partitions_and_requests_the_rest(yd_home, instance, catalog):
    defs = build_definitions(catalog)
    shops = sync_shops(instance, catalog, shop_source_from_env())["pdd"]
    ds = catalog.dataset("pdd", "badscore")
    store = object_store_from_env().client()
    drop_reports(store, ds, shops, "2025-10-01")
    context = dg.build_sensor_context(instance=instance, resources={"object_store": object_store_from_env()})
    result = defs.resolve_sensor_def(LANDING_SENSOR)(context)
    assert sorted(r.tags[LANDING_TAG].rsplit("/", 1)[1] for r in result.run_requests) == sorted(
        f"{s}_2025-10-01.xlsx" for s in shops)
    assert {r.partition_key.keys_by_dimension["date"] for r in result.run_requests} == {"2025-10-01"}
    reasons = rejected_reasons(store)
    assert sorted(reasons) == sorted(f"{shops[0]}_{p}.xlsx" for p in ("2020-01-01", "2099-12-31"))
    assert all(OUTSIDE in r and "2025-09-01 .. " in r for r in reasons.values())
    assert "2020-01-01 is before the first one" in reasons[f"{shops[0]}_2020-01-01.xlsx"]


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

    now = datetime(2025, 10, 2, 2, 0, tzinfo=UTC)
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


# ---- on a real webserver and daemon ------------------------------------------------------------

CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG", "YD_SPARK_MASTER",
           "YD_PMS_DB_URL", "DAGSTER_HOME")
SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 50) { status runIds skipReason error { message } } } }
  }
}"""


def sensor_ticks(url: str) -> list[dict]:
    selector = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY, "sensorName": LANDING_SENSOR}
    answer = requests.post(f"{url}/graphql", json={"query": SENSOR_TICKS, "variables": {"selector": selector}},
                           timeout=60).json()
    sensor = answer["data"]["sensorOrError"]
    assert sensor["__typename"] == "Sensor", answer
    return sensor["sensorState"]["ticks"]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_daemon_tick_with_a_bad_period_still_files_the_good_reports(tmp_path, yd_home, catalog):
    """Reports for every shop plus two for periods outside the partitions, dropped before the
    daemon starts: its first landing tick requests only the good ones, which are materialized
    as raw partitions, and the two land in rejected/ with the reason. No tick fails."""
    dagster_home, logs = tmp_path / "dagster_home", tmp_path / "logs"
    dagster_home.mkdir()
    logs.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    ds = catalog.dataset("pdd", "badscore")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        shops = sync_shops(instance, catalog, shop_source_from_env())["pdd"]
    store = object_store_from_env().client()
    dropped = drop_reports(store, ds, shops, "2025-10-01")

    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env.update(YD_HOME=str(yd_home), DAGSTER_HOME=str(dagster_home), SPARK_LOCAL_IP="127.0.0.1", PYTHONUNBUFFERED="1",
               YD_UI_URL=url, DAGSTER_GRPC_TIMEOUT_SECONDS="300")
    procs = [start_webserver(env, port, logs)]
    try:
        wait_http(f"{url}/server_info", procs[0])
        procs.append(start_daemon(env, logs))
        requested = wait_until(lambda: [t for t in sensor_ticks(url) if t["runIds"] or t["status"] == "FAILURE"],
                               "the landing sensor's first tick that requested runs", timeout=600, interval=5,
                               details=lambda: log_tail(logs))
        assert [t["status"] for t in requested] == ["SUCCESS"], requested
        assert len(requested[0]["runIds"]) == len(shops)  # one tick: every good file, nothing for the bad ones

        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            raw = dg.AssetKey(["pdd", "badscore", "badscore_raw"])

            def filed() -> set[str]:
                return {key for key in instance.get_materialized_partitions(raw) if key.startswith("2025-10-01")}

            wait_until(lambda: len(filed()) == len(shops), "every shop's raw partition of 2025-10-01 to be materialized",
                       timeout=900, interval=5, details=lambda: log_tail(logs))
            runs = [instance.get_run_by_id(run_id) for run_id in requested[0]["runIds"]]
            assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
        for shop in shops:
            assert store.get_bytes(f"raw/pdd/badscore/2025-10-01/{shop}.xlsx") == dropped[shop]
        reasons = rejected_reasons(store)
        assert sorted(reasons) == sorted(f"{shops[0]}_{p}.xlsx" for p in ("2020-01-01", "2099-12-31"))
        assert all(OUTSIDE in r for r in reasons.values()), reasons
        assert not [t for t in sensor_ticks(url) if t["status"] == "FAILURE"]
    finally:
        for proc in reversed(procs):
            stop_group(proc)
