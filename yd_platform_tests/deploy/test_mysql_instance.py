"""The production instance proven end to end on MariaDB: queue, daemon, GraphQL."""

from __future__ import annotations

import json

import boto3
import dagster as dg
import pytest

from yd_platform.catalog import load_catalog
from yd_platform.catalog.periods import period_from_key
from yd_platform.cli import doctor
from yd_platform.cli.status import MATERIALIZED, dataset_status
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.datasets.keys import ods_key, raw_key
from yd_platform.resources.app_db import app_db_from_env
from yd_platform.resources.dagster_webserver import RunLauncher, partition_tags
from yd_platform.resources.shops import ShopSourceResource
from yd_platform.tags.tables import ensure_tables, save_tag
from yd_platform.tags.wiring.graphql_trigger import trigger_user_tags, wait_for_run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

COLLECT = "erp__goodscount__collect"
PUBLISH = "erp__goodscount__publish"
DAY = "2025-10-01"
# Multi-partition key DATE|SHOP; the launch also carries the per-dimension tags
# (dagster/partition/date, dagster/partition/shop) as the UI does, which give the run
# a MultiPartitionKey rather than a plain string.
RAW_PARTITION = f"{DAY}|erp_main"
RUN_WAIT_SECONDS = 600


def test_queued_runs_on_mysql_instance(deployment):
    catalog = load_catalog()
    ds = catalog.platforms["erp"].datasets["goodscount"]
    with dg.DagsterInstance.from_config(str(deployment.home)) as instance:
        assert type(instance.run_storage).__name__ == "MySQLRunStorage"
        shops = sync_shops(instance, catalog, ShopSourceResource(source="config"))
        assert "erp_main" in shops["erp"]

        launched = deployment.dagster(
            "job", "launch", "-w", "workspace.yaml", "-j", COLLECT,
            "--tags", json.dumps(partition_tags(RAW_PARTITION)),
        )
        assert launched.returncode == 0, launched.stdout + launched.stderr
        runs = instance.get_runs(dg.RunsFilter(job_name=COLLECT, tags={"dagster/partition": RAW_PARTITION}))
        assert len(runs) == 1
        collect_id = runs[0].run_id
        enqueued = instance.get_records_for_run(collect_id, of_type=dg.DagsterEventType.RUN_ENQUEUED).records
        assert enqueued, "the run was not queued: QueuedRunCoordinator is not in effect"

        run = deployment.wait_for_run(instance, collect_id, RUN_WAIT_SECONDS)
        assert run.status == dg.DagsterRunStatus.SUCCESS, deployment.run_failure(instance, collect_id)
        assert RAW_PARTITION in instance.get_materialized_partitions(raw_key(ds))

        launcher = RunLauncher(deployment.url)
        outcome = launcher.run(PUBLISH, DAY, timeout=RUN_WAIT_SECONDS)
        assert outcome.success, f"{outcome.status}: {deployment.run_failure(instance, outcome.run_id)}"
        published = instance.get_run_by_id(outcome.run_id)
        assert published.tags["dagster/partition"] == DAY
        assert instance.get_records_for_run(
            outcome.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
        ).records
        assert DAY in instance.get_materialized_partitions(ods_key(ds))

        table = dataset_status(instance, catalog, ds, [period_from_key(ds.cadence, DAY)])
        assert table.state("erp_main", DAY) == MATERIALIZED
        assert table.published == {DAY: MATERIALIZED}

        # The README's user-tags example: task-tags for one tag, submitted and polled over GraphQL.
        engine = app_db_from_env().engine()
        ensure_tables(engine)
        save_tag(engine, 7, "ERP store", {"logic": "AND", "conditions": [
            {"field": "user_id", "operator": "is_not_null", "type": "string"}]})
        tags_run = trigger_user_tags(deployment.url, tag_ids=[7], today=DAY)
        status = wait_for_run(deployment.url, tags_run, timeout=RUN_WAIT_SECONDS, poll=2)
        assert status == dg.DagsterRunStatus.SUCCESS, deployment.run_failure(instance, tags_run)
        materialized = instance.get_latest_materialization_event(dg.AssetKey("user_tags"))
        assert materialized is not None and materialized.run_id == tags_run
        metadata = materialized.asset_materialization.metadata
        assert metadata["mode"].value == "task-tags"
        assert metadata["evaluated_tag_ids"].value == "7"

    check = doctor.check_dagster_instance(str(deployment.home))
    assert check.state == doctor.OK and "MySQLRunStorage" in check.detail, check.line()

    s3 = boto3.client("s3", endpoint_url=deployment.s3_endpoint)
    bucket = deployment.env["YD_MINIO_BUCKET"]
    logs = s3.list_objects_v2(Bucket=bucket, Prefix="dagster/compute-logs/").get("Contents", [])
    assert any(collect_id in obj["Key"] for obj in logs), [o["Key"] for o in logs][:10]
