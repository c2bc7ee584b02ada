"""One step's batch of raw partitions: many shop-dates per run, grouped by merchant account.

A backfill of thousands of shop-dates becomes a few dozen runs (the raw asset's
backfill policy), so process start-up no longer outweighs the downloads. Each run's
step collects its partitions here:

- **by merchant account**: per account one pool slot (one download at a time, as
  always) and one browser session (one check, at most one login) for all its
  partitions. An account busy elsewhere (another run, a login by hand) is set aside
  while the other accounts download, and waited for last;
- **each partition on its own**: a materialization of that partition as soon as its
  file is stored, or an observation saying why it failed; one bad shop-date fails only
  itself. The step ends failed when any partition failed, so Dagster's partition status
  and the backfill show exactly those partitions as failed, and a re-run (a re-execution,
  or a backfill of the failed partitions) takes only them;
- **resumable**: a partition materialized since the batch began (this run, its root run
  when it is a re-execution, its backfill) whose file is in the object store with the
  recorded content is not downloaded again; neither is one that failed in an earlier
  attempt of this step for a reason no retry can fix. The instance and the object store
  are the checkpoint, so a crashed run loses only the download it was in.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from yd_platform.catalog import DatasetSpec, load_catalog
from yd_platform.catalog.periods import period_from_key
from yd_platform.collect.errors import CollectError, PermanentError, TransientError
from yd_platform.collect.framework import Collected, CollectJob
from yd_platform.collect.platforms import collector_class
from yd_platform.collect.raw_files import object_store_sink, store_raw, stored_intact
from yd_platform.datasets.keys import raw_key
from yd_platform.datasets.partitions import DATE_DIM, SHOP_DIM, raw_partitions
from yd_platform.instance.pace import platform_pace
from yd_platform.instance.pools import AccountBusy, account_slot, ensure_account_pools

# Dagster's run tag that keeps the instance's `run_retries` from re-running a run whose
# step failed; set on a run whose failure no retry can fix.
RUN_RETRY_ON_STEP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
# Dagster's tags naming what a run belongs to (a re-execution's first run, a backfill).
ROOT_RUN_TAG = "dagster/root_run_id"
BACKFILL_TAGS = ("dagster/backfill", "dagster/root_backfill_id")
ACCOUNT_TAG = "yd/account"  # `<platform>:<account>`, set by the schedules on one-shop runs
RECORDS_PAGE = 1000
PROGRESS_EVERY_SECONDS = 10.0  # how often a long batch says how far it is


@dataclass(frozen=True)
class RawPartition:
    key: str          # `DATE|SHOP`, as Dagster names the partition
    period_key: str
    shop: str


def partitions_of(context: dg.AssetExecutionContext, ds: DatasetSpec) -> list[RawPartition]:
    """The step's partitions: one, or a range of dates x shops (a run launched with the tag
    `dagster/partition: DATE|SHOP` carries its key as a plain string)."""
    definition = raw_partitions(ds)
    found = []
    for key in context.partition_keys:
        if not isinstance(key, dg.MultiPartitionKey):
            key = definition.get_partition_key_from_str(str(key))
        dims = key.keys_by_dimension
        found.append(RawPartition(str(key), dims[DATE_DIM], dims[SHOP_DIM]))
    return found


def accounts_of(context: dg.AssetExecutionContext, ds: DatasetSpec, shops: set[str]) -> dict[str, str]:
    """Each shop's merchant account: a one-shop run's `yd/account` tag, else the shop
    source (a shop it no longer lists is its own account)."""
    tag = context.run.tags.get(ACCOUNT_TAG, "")
    if len(shops) == 1 and tag.startswith(f"{ds.platform}:"):
        return {next(iter(shops)): tag.split(":", 1)[1]}
    try:
        known = {spec.id: spec.login_account
                 for spec in context.resources.shop_source.active_shops(load_catalog(), ds.platform)}
    except Exception as exc:  # noqa: BLE001 - the shop id still identifies the account
        context.log.warning(f"could not look up the accounts of {ds.platform} shops: {exc}")
        known = {}
    return {shop: known.get(shop, shop) for shop in shops}


def batch_began(context: dg.AssetExecutionContext) -> float:
    """Since when work of this batch counts as done: the earliest creation of this run,
    its root run (when it re-executes one) and its backfill."""
    instance, tags = context.instance, context.run.tags
    moments = []
    for run_id in (context.run_id, tags.get(ROOT_RUN_TAG)):
        record = instance.get_run_record_by_id(run_id) if run_id else None
        if record is not None and record.create_timestamp is not None:
            moments.append(record.create_timestamp.timestamp())
    for backfill_id in {tags.get(tag) for tag in BACKFILL_TAGS} - {None}:
        backfill = instance.get_backfill(backfill_id)
        if backfill is not None:
            moments.append(backfill.backfill_timestamp)
    return min(moments) if moments else time.time()


def _latest_per_partition(fetch, records_filter: dg.AssetRecordsFilter) -> dict[str, dg.EventLogRecord]:
    latest: dict[str, dg.EventLogRecord] = {}
    cursor = None
    while True:
        page = fetch(records_filter, limit=RECORDS_PAGE, cursor=cursor)
        for record in page.records:  # newest first
            latest.setdefault(record.partition_key, record)
        if not page.has_more:
            return latest
        cursor = page.cursor


def already_in(context: dg.AssetExecutionContext, ds: DatasetSpec, store, partitions: list[RawPartition],
               since: float) -> dict[str, dg.EventLogRecord]:
    """Partitions materialized since `since` whose file is in the store as recorded."""
    records = _latest_per_partition(context.instance.fetch_materializations, dg.AssetRecordsFilter(
        asset_key=raw_key(ds), asset_partitions=[p.key for p in partitions], after_timestamp=since))
    intact = {}
    for key, record in records.items():
        meta = record.asset_materialization.metadata
        obj, sha = meta.get("object"), meta.get("sha256")
        if obj is not None and sha is not None and stored_intact(store, str(obj.value), str(sha.value)):
            intact[key] = record
    return intact


def given_up_earlier(context: dg.AssetExecutionContext, ds: DatasetSpec,
                     partitions: list[RawPartition]) -> dict[str, str]:
    """Partitions an earlier attempt of this step recorded as failed for a reason no retry
    can fix (a captcha, a refused login): partition -> what it said."""
    if context.retry_number == 0:
        return {}
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.create_timestamp.timestamp() if record and record.create_timestamp else 0.0
    records = _latest_per_partition(context.instance.fetch_observations, dg.AssetRecordsFilter(
        asset_key=raw_key(ds), asset_partitions=[p.key for p in partitions], after_timestamp=started))
    found = {}
    for key, record in records.items():
        meta = record.asset_observation.metadata
        retryable, error = meta.get("retryable"), meta.get("error")
        if record.run_id == context.run_id and retryable is not None and retryable.value is False:
            found[key] = str(error.value) if error is not None else "failed in an earlier attempt"
    return found


def refuse_run_retries(context: dg.AssetExecutionContext, reason: str) -> None:
    """A human must act (log in, fix the file): re-running the run would only repeat the
    failure (and a captcha page seen again and again can get the account flagged)."""
    try:
        context.instance.add_run_tags(context.run_id, {RUN_RETRY_ON_STEP_FAILURE_TAG: "false"})
        context.log.info(f"this run will not be retried: {reason}")
    except Exception as exc:  # noqa: BLE001 - the failure itself matters more
        context.log.warning(f"could not mark run {context.run_id} as not to be retried: {exc}")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def accounts_in_turn(run_id: str, groups: dict[str, list]) -> deque:
    """The accounts in the order a run takes them: each run starts at another account.
    Runs over the same shops (a backfill's runs of other dates) walking the accounts in
    one order would find each other's account busy at every turn and set it aside, one
    claim and one log line each time."""
    turn = deque(groups.items())
    turn.rotate(-(zlib.crc32(run_id.encode()) % max(len(turn), 1)))
    return turn


@dataclass
class BatchProgress:
    """How far a batch is, said in the run's log as an account's pool is released: after
    the first account, then at most every `every` seconds and after the last, so a long
    batch shows its progress while it runs without a line (a storage write) per account;
    each partition's materialization shows in the UI as it is stored."""

    platform: str
    todo: int = 0
    every: float = PROGRESS_EVERY_SECONDS
    said_at: float | None = None

    def line(self, account: str, jobs: int, collected: int, failed: int, now: float) -> str | None:
        done = collected + failed
        if self.said_at is not None and done < self.todo and now - self.said_at < self.every:
            return None
        self.said_at = now
        return (f"{self.platform} account {account} done ({jobs} partitions): {done} of {self.todo} "
                f"partitions handled, {collected} collected, {failed} failed")


class RawBatch:
    """The events of one step over its raw partitions (see the module's docstring)."""

    def __init__(self, context: dg.AssetExecutionContext, ds: DatasetSpec, store):
        self.context = context
        self.ds = ds
        self.store = store
        self.settings = context.resources.collector
        self.asset_key = raw_key(ds)
        self.attempt = context.retry_number + 1
        self.collected: list[str] = []
        self.failed: dict[str, CollectError] = {}
        self.reused: dict[str, dg.EventLogRecord] = {}
        self._given_up = 0
        self.progress = BatchProgress(ds.platform)

    def events(self, partitions: list[RawPartition]) -> Iterator[dg.AssetMaterialization | dg.AssetObservation]:
        since = batch_began(self.context)
        self.reused = already_in(self.context, self.ds, self.store, partitions, since)
        given_up = given_up_earlier(self.context, self.ds, partitions)
        self.failed.update({key: PermanentError(error) for key, error in given_up.items()})
        todo = [p for p in partitions if p.key not in self.reused and p.key not in given_up]
        self.progress.todo, self._given_up = len(todo), len(given_up)
        accounts = accounts_of(self.context, self.ds, {p.shop for p in todo})
        groups: dict[str, list[tuple[RawPartition, CollectJob]]] = {}
        for p in todo:
            job = CollectJob(self.ds, period_from_key(self.ds.cadence, p.period_key), p.shop, accounts[p.shop])
            groups.setdefault(job.account, []).append((p, job))
        began = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
        self.context.log.info(
            f"{len(partitions)} partitions: {len(todo)} to collect for {len(groups)} "
            f"{self.ds.platform} accounts, {len(self.reused)} already in since {began} (not downloaded again), "
            f"{len(given_up)} given up in an earlier attempt")
        if groups:
            yield from self._accounts(groups)
        yield from self._finish(len(partitions))

    def _collector(self):
        rate = load_catalog().platforms[self.ds.platform].requests_per_minute
        pace = platform_pace(self.context.instance, self.ds.platform, rate)
        return collector_class(self.ds.collector)(self.settings, keep=object_store_sink(self.store),
                                                   log=self.context.log, pace=pace.wait if pace else None)

    def _accounts(self, groups: dict[str, list[tuple[RawPartition, CollectJob]]]) -> Iterator:
        collector = self._collector()
        ensure_account_pools(self.context.instance, self.ds.platform, groups)
        pending = accounts_in_turn(self.context.run_id, groups)
        busy_in_a_row = 0
        while pending:
            account, jobs = pending.popleft()
            # wait only when every account left was found busy since the last download
            wait = not pending or busy_in_a_row > len(pending)
            try:
                with account_slot(self.context, self.ds.platform, account, self.settings.lock_wait_seconds,
                                  wait=wait, ensured=True,
                                  released=lambda a=account, n=len(jobs): self._progress(a, n)) as waited:
                    if waited is None:
                        self.context.log.info(f"{self.ds.platform} account {account} is busy: its "
                                              f"{len(jobs)} partitions come after the other accounts'")
                        pending.append((account, jobs))
                        busy_in_a_row += 1
                        continue
                    busy_in_a_row = 0
                    yield from self._account(collector, account, jobs, waited)
            except AccountBusy as busy:
                for p, job in jobs:
                    yield self._fail(p, job, TransientError(f"{job.label}: {busy}"))

    def _progress(self, account: str, jobs: int) -> str | None:
        return self.progress.line(account, jobs, len(self.collected), len(self.failed) - self._given_up,
                                  time.monotonic())

    def _account(self, collector, account: str, jobs: list[tuple[RawPartition, CollectJob]],
                 waited: float) -> Iterator:
        with collector.session(account) as session:
            for p, job in jobs:
                refused = getattr(session, "refused", None)
                if refused is not None:
                    error = refused.__class__(f"{job.label}: not tried, the login of {self.ds.platform} account "
                                              f"{account} needs a person: {_first_line(refused)}",
                                              diagnostics=refused.diagnostics)
                    yield self._fail(p, job, error)
                    continue
                try:
                    got = session.collect(job, self.attempt)
                except CollectError as exc:
                    yield self._fail(p, job, exc)
                    continue
                key = store_raw(self.store, self.ds, p.period_key, p.shop, got.data, got.report.ext)
                self.collected.append(p.key)
                yield self._materialization(p, job, got, key, waited, collector.base)

    def _materialization(self, p: RawPartition, job: CollectJob, got: Collected, key: str, waited: float,
                         source: str) -> dg.AssetMaterialization:
        return dg.AssetMaterialization(asset_key=self.asset_key, partition=p.key, metadata={
            "object": key,
            "bytes": len(got.data),
            "rows": got.report.rows,
            "sha256": got.sha256,
            "seconds": got.seconds,
            "attempts": got.attempts,
            "logins": got.logins,
            "account": job.account,
            "account_wait_seconds": waited,
            "session_use": got.session_use,
            "pace_wait_seconds": got.pace_wait_seconds,
            "source": source,
        })

    def _fail(self, p: RawPartition, job: CollectJob, exc: CollectError) -> dg.AssetObservation:
        self.failed[p.key] = exc
        self.context.log.error(f"{p.key}: attempt {self.attempt} of {self.settings.attempts}: {exc}")
        metadata: dict[str, object] = {
            "error": dg.MetadataValue.text(str(exc)),
            "reason": exc.__class__.__name__,
            "retryable": exc.retryable,
            "attempt": self.attempt,
            "account": job.account,
        }
        metadata.update({name: dg.MetadataValue.text(where) for name, where in exc.diagnostics.items()})
        return dg.AssetObservation(asset_key=self.asset_key, partition=p.key,
                                   description=f"not collected: {_first_line(exc)}", metadata=metadata)

    def _finish(self, total: int) -> Iterator[dg.AssetMaterialization]:
        self.context.log.info(f"{len(self.collected)} collected, {len(self.reused)} already in, "
                              f"{len(self.failed)} failed, of {total} partitions")
        if not self.failed:
            return
        # This run planned the partitions it found already in; reported again here, they
        # do not count among the failed ones when the step fails.
        for key, record in self.reused.items():
            yield dg.AssetMaterialization(asset_key=self.asset_key, partition=key, metadata={
                **record.asset_materialization.metadata, "already_in_from_run": record.run_id})
        if not any(exc.retryable for exc in self.failed.values()):
            refuse_run_retries(self.context, ", ".join(sorted({e.__class__.__name__ for e in self.failed.values()})))
        raise self._failure(total)

    def _failure(self, total: int) -> dg.Failure:
        retryable = any(exc.retryable for exc in self.failed.values())
        if len(self.failed) == 1:
            [(key, exc)] = self.failed.items()
            metadata = {name: dg.MetadataValue.text(where) for name, where in exc.diagnostics.items()}
            metadata["reason"] = dg.MetadataValue.text(exc.__class__.__name__)
            metadata["partition"] = dg.MetadataValue.text(key)
            description = str(exc) if total == 1 else f"1 of {total} partitions failed: {key}: {exc}"
            return dg.Failure(description=description, metadata=metadata, allow_retries=retryable)
        lines = "\n".join(f"- {key}: {_first_line(exc)}" for key, exc in sorted(self.failed.items()))
        return dg.Failure(
            description=f"{len(self.failed)} of {total} partitions failed:\n{lines}",
            metadata={"failed_partitions": dg.MetadataValue.json(sorted(self.failed)),
                      "reasons": dg.MetadataValue.json({k: e.__class__.__name__ for k, e in self.failed.items()})},
            allow_retries=retryable)
