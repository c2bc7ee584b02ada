"""The operator's loop on a real instance, started by `yd-platform up` (webserver, daemon,
code server, demo portal): runs that `up` submits are ordinary runs of the code location;
a 3-date backfill of `merged` records every date's own check results, a failed blocking
check holds back only its date, `ods` and `user_tags` follow by automation; on the fresh
machine `user_tags` holds the shipped tags, computed by automation over the demo warehouse;
the asset group page and the Checks tab show it (screenshots kept); SIGTERM stops everything.

One `up` serves the whole module (starting it is the expensive part).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import psutil
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log.base import PartitionKeyFilter

from yd_platform.datasets.keys import merged_key, ods_key
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.plan import platform_today
from yd_platform.resources.dagster_webserver import CODE_LOCATION, REPOSITORY
from yd_platform.resources.object_store import ObjectStoreResource
from yd_platform.tags.config import load_tags_config
from yd_platform.tags.tables import read_user_tags
from yd_platform.tags.wiring.user_tags_asset import USER_TAGS
from yd_platform_tests.artifacts import artifacts_folder
from yd_platform_tests.object_files import put_raw
from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, wait_until
from yd_platform_tests.ui.data import report_rows
from yd_platform_tests.ui.instance import UpProcess, dismiss_dialogs, start_up, wait_until_drawn

# Each step of a run starts its own process: on a busy machine a chain outlasts the
# suite's default per-test timeout, so the waits below bound it instead.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DATASET = ("tm", "chat")  # daily, and a feature table of user_tags
# the feature tables of the shipped tags (the demo warehouse `up` fills on a fresh machine)
SHIPPED_FEATURES = ("dw/user_basic_info", "dw/user_asset_summary", "dw/user_activity_summary")
DATA_CHECKS = ("rows_nonzero", "shops_present", "schema_matches", "keys_unique", "volume_normal")
CHAIN_TIMEOUT = 480  # each step starts its own process: minutes, not seconds

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}"""
JOB_SNAPSHOT = """
query($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) { __typename ... on Pipeline { pipelineSnapshotId } }
}"""


@pytest.fixture(scope="module")
def ds(catalog):
    return catalog.dataset(*DATASET)


@pytest.fixture(scope="module")
def up(tmp_path_factory, ds) -> UpProcess:
    """`yd-platform up` planning the one dataset and the shipped tags' feature tables (real
    downloads from the demo portal and the demo warehouse)."""
    home = tmp_path_factory.mktemp("yd_home")
    process = start_up(home, "--datasets", f"{ds.platform}/{ds.code}", *SHIPPED_FEATURES)
    yield process
    if process.proc.poll() is None:
        for child in psutil.Process(process.proc.pid).children(recursive=True):
            child.kill()
        process.proc.kill()
        process.proc.wait(30)


@pytest.fixture(scope="module")
def backfill_days(catalog):
    """Three recent dates (inside the automation window), clear of the T-1 that `up` collects."""
    today = platform_today(catalog)
    return [(today - timedelta(days=n)).isoformat() for n in (6, 5, 4)]


def _runs(instance, **filters) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(**filters)))


def _check_record(instance, asset, check, day):
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(asset, check), limit=1, partition_filter=PartitionKeyFilter(key=day))
    return history[0] if history else None


def _evaluated(record):
    """The record once its check has a result (not only planned by a running run)."""
    return record if record is not None and record.status.value in ("SUCCEEDED", "FAILED") else None


def test_runs_started_by_up_are_ordinary_runs_of_the_code_location(up, ds, catalog):
    instance = up.instance()
    day = (platform_today(catalog) - timedelta(days=1)).isoformat()  # tm/chat is T-1
    shops = [s.id for s in catalog.platforms[ds.platform].active_shops()]

    def submitted():
        found = _runs(instance, job_name=collect_job_name(ds))
        return found if len(found) >= len(shops) else None

    runs = wait_until(submitted, "a run per shop submitted by `up`", EVENT_DEADLINE_SECONDS, interval=2,
                      details=up.output)
    assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(f"{day}|{shop}" for shop in shops)
    snapshot = up.graphql(JOB_SNAPSHOT, {"selector": {
        "pipelineName": collect_job_name(ds), "repositoryName": REPOSITORY,
        "repositoryLocationName": CODE_LOCATION}})["pipelineOrError"]["pipelineSnapshotId"]
    # the job's Runs tab and the overview timeline list runs by job name and this label
    in_job_view = _runs(instance, job_name=collect_job_name(ds),
                        tags={".dagster/repository": f"{REPOSITORY}@{CODE_LOCATION}"})
    assert {r.run_id for r in in_job_view} == {r.run_id for r in runs}
    for run in runs:
        origin = run.remote_job_origin
        assert origin is not None and origin.location_name == CODE_LOCATION
        assert run.job_snapshot_id == snapshot  # re-execute shows no "(*)"
        assert run.tags["yd/account"].startswith(f"{ds.platform}:")
    # queued by the instance, then started by the daemon's run coordinator
    wait_until(lambda: all(
        instance.get_run_by_id(r.run_id).status not in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
        for r in runs), "the daemon to start the runs", 300, interval=2, details=up.output)


def test_backfill_records_checks_per_date_and_automation_carries_on(up, ds, catalog, backfill_days):
    instance = up.instance()
    store = ObjectStoreResource(backend="local", root=str(up.home / "objects")).client()
    good1, bad, good2 = backfill_days
    for day in backfill_days:
        for shop in (s.id for s in catalog.platforms[ds.platform].active_shops()):
            put_raw(store, ds, day, shop, report_rows(ds, shop, day, 4, duplicate_key=day == bad))

    answer = up.graphql(LAUNCH_BACKFILL, {"params": {
        "assetSelection": [{"path": merged_key(ds).path}], "partitionNames": backfill_days}})
    launched = answer["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    # One run for the three dates (the backfill policy), whose checks name each date
    def backfill_done():
        runs = _runs(instance, tags={"dagster/backfill": backfill_id})
        return runs if runs and all(r.is_finished for r in runs) else None

    runs = wait_until(backfill_done, "the backfill run", CHAIN_TIMEOUT, interval=2, details=up.output)
    assert len(runs) == 1
    assert runs[0].status == dg.DagsterRunStatus.FAILURE  # stopped before ods by the failed date
    steps = {e.step_key: e.dagster_event.event_type_value for e in instance.all_logs(runs[0].run_id)
             if e.dagster_event and e.dagster_event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE")}
    assert steps[f"{ds.slug}__merged__data_checks"] == "STEP_FAILURE", steps
    assert [v for k, v in steps.items() if k.endswith("chat_merged")] == ["STEP_SUCCESS"], steps
    assert (runs[0].tags["dagster/asset_partition_range_start"],
            runs[0].tags["dagster/asset_partition_range_end"]) == (good1, good2)
    for check in DATA_CHECKS:
        for day in backfill_days:
            record = _check_record(instance, merged_key(ds), check, day)
            assert record is not None and record.status.value in ("SUCCEEDED", "FAILED"), (check, day, record)
    statuses = {day: _check_record(instance, merged_key(ds), "keys_unique", day).status.value
                for day in backfill_days}
    assert statuses == {good1: "SUCCEEDED", bad: "FAILED", good2: "SUCCEEDED"}

    # Automation publishes the dates whose blocking checks passed, and only those
    def ods_published():
        return {good1, good2} <= instance.get_materialized_partitions(ods_key(ds))

    wait_until(ods_published, "automation to publish ods for the passed dates", CHAIN_TIMEOUT, interval=2,
               details=up.output)
    assert bad not in instance.get_materialized_partitions(ods_key(ds))
    ods_runs = [r for r in _runs(instance, tags={"dagster/sensor_name": "yd_automation"})
                if r.asset_selection and ods_key(ds) in r.asset_selection]
    assert ods_runs, "ods was published by a run the automation sensor did not request"
    for day in (good1, good2):  # the check step runs after the table is written
        record = wait_until(lambda d=day: _evaluated(_check_record(instance, ods_key(ds), "keys_unique", d)),
                            f"ods keys_unique of {day} to be evaluated", CHAIN_TIMEOUT, interval=2,
                            details=up.output)
        assert record.status.value == "SUCCEEDED", (day, record)

    # ... and user_tags follows the updated feature table
    backfill_created = instance.get_run_record_by_id(runs[0].run_id).create_timestamp

    def user_tags_requested():
        return [r for r in _tag_runs(instance) if r.create_timestamp > backfill_created]

    wait_until(user_tags_requested, "automation to request user_tags", CHAIN_TIMEOUT, interval=2,
               details=up.output)


def _tag_runs(instance) -> list:
    """Records of the user_tags runs the automation sensor requested."""
    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/sensor_name": "yd_automation"}))
    return [r for r in records if r.dagster_run.asset_selection and USER_TAGS in r.dagster_run.asset_selection]


def test_a_fresh_up_computes_the_shipped_tags(up, catalog):
    instance = up.instance()
    features = [catalog.dataset(*name.split("/")) for name in SHIPPED_FEATURES]
    seed_ids = {tag.id for tag in load_tags_config(catalog=catalog).seed.tags}

    def features_published():
        return all(instance.get_materialized_partitions(ods_key(f)) for f in features)

    wait_until(features_published, "the shipped tags' feature tables to be published", CHAIN_TIMEOUT, interval=2,
               details=up.output)

    def tags_computed():
        """The last user_tags materialization, once it evaluated every shipped tag."""
        event = instance.get_latest_materialization_event(USER_TAGS)
        if event is None:
            return None
        per_tag = event.asset_materialization.metadata.get("per_tag")
        evaluated = {int(row["tag_id"]) for row in (per_tag.value if per_tag else [])}
        return event if seed_ids <= evaluated else None

    event = wait_until(tags_computed, "user_tags to be computed with the shipped tags", CHAIN_TIMEOUT, interval=2,
                       details=up.output)
    run = instance.get_run_by_id(event.run_id)
    assert run.tags.get("dagster/sensor_name") == "yd_automation", run.tags  # requested by automation
    per_tag = {int(row["tag_id"]): row for row in event.asset_materialization.metadata["per_tag"].value}
    matched = {tag_id for tag_id in seed_ids if int(per_tag[tag_id]["users_matched"]) > 0}
    assert len(matched) >= len(seed_ids) // 2, per_tag

    engine = sa.create_engine(f"sqlite:///{up.home / 'app.db'}")
    try:
        stored = read_user_tags(engine)
    finally:
        engine.dispose()
    assert stored, "user_tags is empty"
    held = {tag_id for row in stored.values() for tag_id in row["tag_ids"]}
    assert matched <= held, (matched, held)


def test_screenshots_show_checks_per_date(up, ds, backfill_days, chromium_browser):
    out = artifacts_folder("ui")
    good1, bad, good2 = backfill_days
    context = chromium_browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{up.url}/locations/{CODE_LOCATION}/asset-groups/{ds.platform}", timeout=120_000)
        wait_until_drawn(page, *(f"{ds.code}_{stage}" for stage in ("raw", "merged", "ods")))
        dismiss_dialogs(page)
        page.screenshot(path=str(out / "asset_group.png"), full_page=True)
        group_text = page.inner_text("body")
        for stage in ("raw", "merged", "ods"):
            assert f"{ds.code}_{stage}" in group_text

        page.goto(f"{up.url}/assets/{'/'.join(merged_key(ds).path)}?view=checks", timeout=120_000)
        wait_until_drawn(page, *DATA_CHECKS)
        dismiss_dialogs(page)
        page.screenshot(path=str(out / "checks_tab.png"), full_page=True)
        checks_text = page.inner_text("body")
    finally:
        context.close()
    assert "Skipped" not in checks_text
    for check in DATA_CHECKS:
        assert check in checks_text


def test_sigterm_stops_up_and_everything_it_started(up):
    parent = psutil.Process(up.proc.pid)
    children = parent.children(recursive=True)
    names = " ".join(" ".join(c.cmdline()[:4]) for c in children)
    assert "dagster" in names and "portal" in names, names
    up.proc.terminate()
    up.proc.wait(EVENT_DEADLINE_SECONDS)  # `up` stops what it started: grace, then kill
    gone, alive = psutil.wait_procs(children, timeout=EVENT_DEADLINE_SECONDS)
    assert not alive, [(p.pid, p.cmdline()[:4]) for p in alive]
    assert "Stopping" in up.log_path.read_text(errors="replace")  # the stop's own output follows it
