"""Limits on collect runs that hold whatever starts the run: Dagster pools.

Two limits protect the merchant back-ends:

- **per platform**: at most the platform's `max_concurrent_runs` (platforms.yaml, the one
  place the number is written) downloads at once. Every `raw` asset of a platform is in
  the pool `collect_<platform>`; `sync_platform_pools` copies the numbers into the
  instance (the `yd_pool_limits` sensor does so every minute). Before a step of a full
  pool starts, Dagster makes it wait (and the queue keeps the run back).
- **per merchant account**: one download per account at a time, whichever shop or
  period it is for (a second browser session logs the first one out). The account is
  known only once the step knows its partition, so the step claims a slot of the pool
  `account_<platform>_<account>` (limit 1) itself, through the same instance storage.

Pools live in the instance's storage (MySQL in production), so they hold for schedule
ticks, UI backfills, `dagster job launch` and GraphQL launches alike, and across every
machine or container a run starts in. The UI's Concurrency page shows each pool with
the run holding it; a run that dies gives its slots back (run monitoring,
`free_slots_after_run_end_seconds`).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import dagster as dg

T = TypeVar("T")

ACCOUNT_LIMIT = 1
# Longest pause between two claims while the account is busy.
MAX_POLL_SECONDS = 5.0
# MySQL/MariaDB answers two runs touching the same pool rows at once with a deadlock (1213)
# or a lock-wait timeout (1205), SQLite with a locked database; the statement is simply
# tried again. Matched on the servers' own message texts, which every driver passes on.
TRANSIENT_DB_ERRORS = ("Deadlock found", "Lock wait timeout", "database is locked")
DB_ATTEMPTS = 5


def _transient(error: BaseException) -> bool:
    seen = error
    while seen is not None:
        if any(signal in str(seen) for signal in TRANSIENT_DB_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def with_db_retry(call: Callable[[], T], attempts: int = DB_ATTEMPTS) -> T:
    """`call()`, tried again after a short random pause when the storage reports a
    deadlock or lock timeout (the other run's transaction has finished by then)."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as error:  # the storages raise their drivers' own classes
            if attempt == attempts or not _transient(error):
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")


def _name(text: str) -> str:
    """`text` as a pool-name part; other characters than A-Z, 0-9 and _ are replaced, and a
    digest of the original keeps names distinct (客服01 and 客服02 must not share a pool)."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return safe if safe == text else f"{safe}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def platform_pool(platform: str) -> str:
    return f"collect_{_name(platform)}"


def account_pool(platform: str, account: str) -> str:
    return f"account_{_name(platform)}_{_name(account)}"


def platform_limits(catalog) -> dict[str, int]:
    """Pool name -> slots, for every platform with a ceiling (0 in the catalog: none)."""
    return {platform_pool(code): p.max_concurrent_runs
            for code, p in catalog.platforms.items() if p.max_concurrent_runs > 0}


def catalog_pool_limits(catalog) -> dict[str, int]:
    """Every pool the catalog knows of: the platforms' and one per listed login account.
    Accounts of shops that come from a shops table get their pool on first use."""
    limits = platform_limits(catalog)
    for code, platform in catalog.platforms.items():
        for shop in platform.shops:
            limits[account_pool(code, shop.login_account)] = ACCOUNT_LIMIT
    return limits


def sync_platform_pools(instance: dg.DagsterInstance, catalog) -> dict[str, int]:
    """Give each pool of the catalog its number of slots; returns the pools changed.

    A pool nobody set yet falls back to the instance's `default_limit` (1), so before the
    first sync a platform is limited more, never less, than the catalog says. Setting the
    account pools here too means two runs starting together rarely both write the pool row.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    current = {pool.name: pool for pool in with_db_retry(storage.get_pool_limits)}
    changed = {}
    for name, slots in catalog_pool_limits(catalog).items():
        known = current.get(name)
        if known is None or known.limit != slots or known.from_default:
            with_db_retry(lambda: storage.set_concurrency_slots(name, slots))  # noqa: B023
            changed[name] = slots
    return changed


@contextmanager
def account_slot(context: dg.AssetExecutionContext, platform: str, account: str,
                 wait_seconds: float) -> Iterator[float]:
    """Hold the account's pool slot for the block; yields the seconds spent waiting.

    Raises `dg.Failure` (retryable) when the account stayed busy for `wait_seconds`.
    """
    storage = context.instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        context.log.warning("this instance's storage has no pools: the one-download-per-account "
                            "limit is not enforced across runs")
        yield 0.0
        return
    pool = account_pool(platform, account)
    if with_db_retry(lambda: storage.get_concurrency_info(pool).slot_count) != ACCOUNT_LIMIT:
        with_db_retry(lambda: storage.set_concurrency_slots(pool, ACCOUNT_LIMIT))
    run_id = context.run_id
    step_key = f"{context.get_step_execution_context().step.key}[{pool}]"
    started = time.monotonic()
    told = False
    try:
        while True:
            status = with_db_retry(lambda: storage.claim_concurrency_slot(pool, run_id, step_key))
            if status.is_claimed:
                break
            waited = time.monotonic() - started
            if waited > wait_seconds:
                raise dg.Failure(f"{platform} account {account} stayed busy for {waited:.0f}s "
                                 f"(pool {pool}); try again later", allow_retries=True)
            if not told:
                holders = sorted(with_db_retry(lambda: storage.get_concurrency_info(pool)).active_run_ids)
                context.log.info(f"waiting for {platform} account {account}: pool {pool} is held by "
                                 f"run {', '.join(holders) or '(being handed over)'}")
                told = True
            time.sleep(min(status.sleep_interval or 1.0, MAX_POLL_SECONDS))
        waited = round(time.monotonic() - started, 3)
        context.log.info(f"holding pool {pool} ({platform} account {account}) after {waited}s")
        yield waited
    finally:
        with_db_retry(lambda: storage.free_concurrency_slot_for_step(run_id, step_key))
        context.log.info(f"released pool {pool}")
