"""The `raw` asset of a dataset: shops' reports for periods into the object store.

Normally the platform's collector downloads them from the back-end through Chromium
(see `collect.framework`), many partitions a run (`collect.batch`); a run started by the
landing sensor (tag `yd/landing_object`) files a hand-dropped file instead. Either way
each file is verified first and stored at `raw/<platform>/<dataset>/<partition>/<shop>.<ext>`,
and each partition gets its own materialization.
"""

from __future__ import annotations

import hashlib
import time

import dagster as dg

from yd_platform.catalog import DatasetSpec
from yd_platform.collect.batch import RawBatch, partitions_of, refuse_run_retries
from yd_platform.collect.errors import CollectError
from yd_platform.collect.landing import move_landing
from yd_platform.collect.raw_files import store_raw
from yd_platform.collect.verify import verify_report
from yd_platform.datasets.keys import LANDING_TAG, dataset_about, dataset_asset_args, raw_key
from yd_platform.datasets.partitions import raw_partitions
from yd_platform.instance.pools import platform_pool
from yd_platform.resources.merchant_backends import CollectorResource, collector_from_env

__all__ = ["build_raw_asset", "raw_backfill_policy", "store_raw"]

# A backfill's runs each take up to this many shop-dates. Dagster cuts a backfill of
# date x shop into ranges that fix one of the two (per date when it has fewer dates than
# shops, else per shop), then into runs of at most this size: a month for 50 shops is
# 30 runs of 50, a year for 50 shops 200 runs of up to 100 (not 18,250). A run holds one
# of its platform's slots until its batch is done, so a schedule's run waits at most one
# batch (a few minutes) for a slot.
RAW_PARTITIONS_PER_RUN = 100


def raw_backfill_policy() -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=RAW_PARTITIONS_PER_RUN)


def collect_retry_policy(settings: CollectorResource) -> dg.RetryPolicy:
    """Dagster's retries of a collect step: `attempts` in all, the first pause
    `backoff_seconds`, doubling, each stretched or shrunk at random (so collections that
    failed together do not hit the back-end together again). A retry takes up only what
    is not in yet (`collect.batch`)."""
    return dg.RetryPolicy(max_retries=settings.attempts - 1, delay=settings.backoff_seconds,
                          backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def raw_asset_options(ds: DatasetSpec) -> dict:
    """What the raw asset needs from Dagster: its platform's pool (at most the catalog's
    `max_concurrent_runs` downloads at once), the retry policy of collections, and
    batched backfills."""
    return {"pool": platform_pool(ds.platform), "retry_policy": collect_retry_policy(collector_from_env()),
            "backfill_policy": raw_backfill_policy()}


RAW_RESOURCES = {"object_store", "shop_source", "collector"}


def build_raw_asset(ds: DatasetSpec) -> dg.AssetsDefinition:
    """Partitioned date x shop; in its platform's pool, retried by the collect policy.

    The body yields one materialization per partition it stored (and no output), so a
    run over many partitions records each partition when it is in, and only those."""

    @dg.asset(
        key=raw_key(ds),
        partitions_def=raw_partitions(ds),
        description=f"{dataset_about(ds)}\n\nOne shop's report file per period, downloaded by the "
                    f"{ds.collector} collector.",
        kinds={"playwright", "excel", *ds.kinds},
        required_resource_keys=RAW_RESOURCES,
        output_required=False,
        **raw_asset_options(ds),
        **dataset_asset_args(ds),
    )
    def raw(context):  # unannotated: Dagster cannot resolve a postponed annotation
        yield from collect_raw(context, ds)

    return raw


def collect_raw(context: dg.AssetExecutionContext, ds: DatasetSpec):
    partitions = partitions_of(context, ds)
    store = context.resources.object_store.client()
    landing = context.run.tags.get(LANDING_TAG)
    if landing:
        [partition] = partitions
        yield file_landing(context, store, ds, partition.key, partition.period_key, partition.shop, landing)
        return
    yield from RawBatch(context, ds, store).events(partitions)


def file_landing(context, store, ds: DatasetSpec, partition: str, period_key: str, shop: str,
                 landing: str) -> dg.AssetMaterialization:
    """File a hand-dropped report as the raw partition (verified like a download)."""
    started = time.monotonic()
    if not store.exists(landing):
        refuse_run_retries(context, f"the landing file {landing} is gone")
        raise dg.Failure(f"landing file {landing} is gone (already filed or removed)", allow_retries=False)
    data = store.get_bytes(landing)
    try:
        report = verify_report(data, ds, name=landing)
    except CollectError as exc:
        rejected = move_landing(store, ds, landing, "rejected", str(exc), data=data)
        refuse_run_retries(context, f"the landing file was rejected to {rejected}")
        raise dg.Failure(f"landing file rejected ({rejected}): {exc}", allow_retries=False,
                         metadata={"rejected": rejected}) from exc
    key = store_raw(store, ds, period_key, shop, data, report.ext)
    processed = move_landing(store, ds, landing, "processed", data=data)
    context.log.info(f"filed {landing} as {key}; moved it to {processed}")
    return dg.AssetMaterialization(asset_key=raw_key(ds), partition=partition, metadata={
        "object": key,
        "bytes": len(data),
        "rows": report.rows,
        "sha256": hashlib.sha256(data).hexdigest(),
        "seconds": round(time.monotonic() - started, 3),
        "source": "landing",
        "landing_file": processed,
    })
