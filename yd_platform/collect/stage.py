"""The `raw` stage: one shop's report for one period into the object store.

Normally the platform's collector downloads it from the back-end through Chromium
(see `collect.framework`); a run started by the landing sensor (tag
`yd/landing_object`) files a hand-dropped file instead. Either way the file is
verified first and stored at `raw/<platform>/<dataset>/<partition>/<shop>.<ext>`.
"""

from __future__ import annotations

import hashlib
import time

import dagster as dg

from yd_platform.catalog import DatasetSpec, load_catalog
from yd_platform.catalog.periods import period_from_key
from yd_platform.collect.errors import CollectError
from yd_platform.collect.framework import CollectJob
from yd_platform.collect.landing import LANDING_TAG, move_landing
from yd_platform.collect.registry import collector_class
from yd_platform.collect.settings import collect_retry_policy, collector_from_env
from yd_platform.collect.verify import verify_report
from yd_platform.launch.pools import account_slot, platform_pool
from yd_platform.pipeline.layout import raw_object, raw_prefix
from yd_platform.pipeline.partitions import DATE_DIM, SHOP_DIM, raw_partitions

# Dagster's run tag that keeps the instance's `run_retries` from re-running a run whose
# step failed; set on a run whose failure no retry can fix.
RUN_RETRY_ON_STEP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"


def account_for(context: dg.AssetExecutionContext, ds: DatasetSpec, shop: str) -> str:
    """The merchant account of the shop: the run's `yd/account` tag, else the shop source."""
    tag = context.run.tags.get("yd/account", "")
    if tag.startswith(f"{ds.platform}:"):
        return tag.split(":", 1)[1]
    try:
        for spec in context.resources.shop_source.active_shops(load_catalog(), ds.platform):
            if spec.id == shop:
                return spec.login_account
    except Exception as exc:  # noqa: BLE001 - the shop id still identifies the account
        context.log.warning(f"could not look up the account of shop {shop}: {exc}")
    return shop


def raw_asset_options(ds: DatasetSpec) -> dict:
    """What the raw asset needs from Dagster: its platform's pool (at most the catalog's
    `max_concurrent_runs` downloads at once) and the retry policy of collections."""
    return {"pool": platform_pool(ds.platform), "retry_policy": collect_retry_policy(collector_from_env())}


def platform_slots(ds: DatasetSpec) -> int:
    """The platform's `max_concurrent_runs` from the catalog (0: no limit)."""
    platform = load_catalog().platforms.get(ds.platform)
    return platform.max_concurrent_runs if platform is not None else 0


def store_raw(store, ds: DatasetSpec, period_key: str, shop: str, data: bytes, ext: str) -> str:
    """Write the raw file, removing the shop's file of another type from an earlier run."""
    key = raw_object(ds, period_key, shop, ext)
    stale = [o.key for o in store.list(raw_prefix(ds, period_key))
             if o.key.rsplit("/", 1)[-1].rsplit(".", 1)[0] == shop and o.key != key]
    store.put_bytes(key, data)
    store.delete(stale)
    return key


def object_store_sink(store):
    def keep(key: str, data: bytes, content_type: str) -> str:
        store.put_bytes(key, data, content_type)
        return store.uri(key)

    return keep


def refuse_run_retries(context: dg.AssetExecutionContext, reason: str) -> None:
    """A human must act (log in, fix the file): re-running the run would only repeat the
    failure (and a captcha page seen again and again can get the account flagged)."""
    try:
        context.instance.add_run_tags(context.run_id, {RUN_RETRY_ON_STEP_FAILURE_TAG: "false"})
        context.log.info(f"this run will not be retried: {reason}")
    except Exception as exc:  # noqa: BLE001 - the failure itself matters more
        context.log.warning(f"could not mark run {context.run_id} as not to be retried: {exc}")


def _failure(exc: CollectError) -> dg.Failure:
    metadata = {name: dg.MetadataValue.text(where) for name, where in exc.diagnostics.items()}
    metadata["reason"] = dg.MetadataValue.text(exc.__class__.__name__)
    return dg.Failure(description=str(exc), metadata=metadata,
                      allow_retries=exc.retryable)


def partition_of(context: dg.AssetExecutionContext, ds: DatasetSpec) -> tuple[str, str]:
    """(period key, shop); a run launched with the tag `dagster/partition: DATE|SHOP`
    carries the key as a plain string."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        key = raw_partitions(ds).get_partition_key_from_str(str(key))
    keys = key.keys_by_dimension
    return keys[DATE_DIM], keys[SHOP_DIM]


def materialize_raw(context: dg.AssetExecutionContext, ds: DatasetSpec) -> dg.MaterializeResult:
    period_key, shop = partition_of(context, ds)
    store = context.resources.object_store.client()
    landing = context.run.tags.get(LANDING_TAG)
    if landing:
        return file_landing(context, store, ds, period_key, shop, landing)

    settings = context.resources.collector
    job = CollectJob(ds, period_from_key(ds.cadence, period_key), shop, account_for(context, ds, shop))
    collector = collector_class(ds.collector)(settings, keep=object_store_sink(store), log=context.log,
                                              max_parallel=platform_slots(ds))
    attempt = context.retry_number + 1
    try:
        with account_slot(context, ds.platform, job.account, settings.lock_wait_seconds) as waited:
            got = collector.collect(job, attempt)
    except CollectError as exc:
        context.log.error(f"attempt {attempt} of {settings.attempts}: {exc}")
        if not exc.retryable:
            refuse_run_retries(context, exc.__class__.__name__)
        raise _failure(exc) from exc
    key = store_raw(store, ds, period_key, shop, got.data, got.report.ext)
    return dg.MaterializeResult(
        metadata={
            "object": key,
            "bytes": len(got.data),
            "rows": got.report.rows,
            "sha256": got.sha256,
            "seconds": got.seconds,
            "attempts": got.attempts,
            "logins": got.logins,
            "account": job.account,
            "account_wait_seconds": waited,
            "source": collector.base,
        }
    )


def file_landing(context, store, ds: DatasetSpec, period_key: str, shop: str, landing: str) -> dg.MaterializeResult:
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
    return dg.MaterializeResult(
        metadata={
            "object": key,
            "bytes": len(data),
            "rows": report.rows,
            "sha256": hashlib.sha256(data).hexdigest(),
            "seconds": round(time.monotonic() - started, 3),
            "source": "landing",
            "landing_file": processed,
        }
    )
