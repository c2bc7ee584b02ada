"""Limits on collect runs that hold whatever starts the run: Dagster pools.

Two limits protect the merchant back-ends:

- **per platform**: at most the platform's `max_concurrent_runs` (platforms.yaml, the one
  place the number is written) downloads at once. Every `raw` asset of a platform is in
  the pool `collect_<platform>`; `sync_platform_pools` copies the numbers into the
  instance (the `yd_pool_limits` sensor does so every minute, `yd-platform run` and `up`
  before their first run). Before a step of a full pool starts, Dagster makes it wait,
  whichever executor runs it (in process or in a run worker).
- **per merchant account**: one browser session per account at a time, whichever shop or
  period it is for (a second session logs the first one out). The account is known only
  once the step knows its partition, so the step claims a slot of the pool
  `account_<platform>_<account>` (limit 1) itself (`account_slot`), and so does a login
  by hand (`holding_slot`).

Pools live in the instance's storage (MySQL in production), so they hold for schedule
ticks, UI backfills, `dagster job launch`, GraphQL launches and in-process runs alike,
across every thread, process, machine or container a run starts in. The UI's
Concurrency page shows each pool with the run holding it; a run that dies gives its
slots back (run monitoring, `free_slots_after_run_end_seconds`).

Claiming, freeing and reading slots are Dagster storage internals, not public API. This
module is the only one that calls them, each through `_storage_call`, which checks the
call against `STORAGE_CALLS` and reads the answers' fields by `ANSWER_FIELDS`: when a
Dagster upgrade renames or removes one, `DagsterInternalsChanged` names it (in the run's
log and in the instance tests) instead of an AttributeError deep inside a step.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

T = TypeVar("T")

ACCOUNT_LIMIT = 1
# Longest pause between two claims while a pool is full.
MAX_POLL_SECONDS = 5.0
# MySQL/MariaDB answers two runs touching the same pool rows at once with a deadlock (1213)
# or a lock-wait timeout (1205), SQLite with a locked database; the statement is simply
# tried again. Matched on the servers' own message texts, which every driver passes on.
TRANSIENT_DB_ERRORS = ("Deadlock found", "Lock wait timeout", "database is locked")
DB_ATTEMPTS = 5

# The event log storage methods called here -> the parameters passed to them (by name).
STORAGE_CALLS: dict[str, tuple[str, ...]] = {
    "get_pool_limits": (),
    "set_concurrency_slots": ("concurrency_key", "num"),
    "get_concurrency_info": ("concurrency_key",),
    "claim_concurrency_slot": ("concurrency_key", "run_id", "step_key"),
    "free_concurrency_slot_for_step": ("run_id", "step_key"),
}
# Properties of the event log storage read here.
STORAGE_PROPERTIES: dict[str, type] = {"supports_global_concurrency_limits": bool}
# Method -> fields read from its answer (from each item for a list) and their types.
ANSWER_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "get_pool_limits": {"name": str, "limit": int, "from_default": bool},
    "get_concurrency_info": {"slot_count": int, "active_run_ids": (set, frozenset),
                             "pending_run_ids": (set, frozenset)},
    "claim_concurrency_slot": {"is_claimed": bool, "sleep_interval": (float, int, type(None))},
}


class DagsterInternalsChanged(RuntimeError):
    """Dagster's storage no longer offers a call or a field this module relies on."""


class PoolBusy(TimeoutError):
    """A pool stayed full for longer than the caller would wait."""


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


# -- the storage internals, checked ------------------------------------------------

def internals_changed(what: str, module: str = "pools.py",
                      expects: str = "STORAGE_CALLS / ANSWER_FIELDS") -> DagsterInternalsChanged:
    return DagsterInternalsChanged(
        f"Dagster {dg.__version__} changed {what}; yd_platform/instance/{module} relies on it "
        f"({expects} there say what it expects)")



def signature_problem(storage_class: type, method: str) -> str | None:
    """Why `storage_class.method` cannot be called as `STORAGE_CALLS` says, or None."""
    call = getattr(storage_class, method, None)
    if not callable(call):
        return f"{storage_class.__name__}.{method}: no such method any more"
    return _parameters_problem(call, f"{storage_class.__name__}.{method}", STORAGE_CALLS[method])


@functools.cache
def _parameters_problem(call: Callable, where: str, expected: tuple[str, ...]) -> str | None:
    try:
        params = list(inspect.signature(call).parameters.values())[1:]  # without self
    except (TypeError, ValueError):
        return None  # not introspectable (a C function): the call itself will tell
    names = {p.name for p in params}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    missing = [name for name in expected if name not in names and not takes_any]
    required = [p.name for p in params if p.default is p.empty and p.name not in expected
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not missing and not required:
        return None
    problems = ([f"no parameter {', '.join(missing)}"] if missing else []) + \
               ([f"a new required parameter {', '.join(required)}"] if required else [])
    return (f"{where}({', '.join(p.name for p in params)}): {'; '.join(problems)} "
            f"(called with {', '.join(expected) or 'no arguments'})")


def storage_contract_problems(instance: dg.DagsterInstance) -> list[str]:
    """What of `STORAGE_CALLS` and `STORAGE_PROPERTIES` the instance's event log storage no
    longer offers as expected (the answers' fields are checked on every call)."""
    storage_class = type(_storage(instance))
    problems = [problem for method in STORAGE_CALLS if (problem := signature_problem(storage_class, method))]
    for name in STORAGE_PROPERTIES:
        try:
            _property(instance, name)
        except DagsterInternalsChanged as changed:
            problems.append(str(changed))
    return problems


def _storage(instance: dg.DagsterInstance):
    return instance.event_log_storage


def _property(instance: dg.DagsterInstance, name: str):
    storage = _storage(instance)
    try:
        value = getattr(storage, name)
    except AttributeError:
        raise internals_changed(f"{type(storage).__name__}.{name} (gone)") from None
    if not isinstance(value, STORAGE_PROPERTIES[name]):
        raise internals_changed(f"{type(storage).__name__}.{name} (now a {type(value).__name__})")
    return value


def _storage_call(instance: dg.DagsterInstance, method: str, **kwargs: Any):
    storage = _storage(instance)
    problem = signature_problem(type(storage), method)
    if problem:
        raise internals_changed(problem)
    return with_db_retry(lambda: getattr(storage, method)(**kwargs))


def _field(answer: Any, method: str, name: str):
    """`answer.name`, checked against `ANSWER_FIELDS[method]`."""
    where = f"the answer of {method} ({type(answer).__name__}).{name}"
    try:
        value = getattr(answer, name)
    except AttributeError:
        raise internals_changed(f"{where} (no such field any more)") from None
    kinds = ANSWER_FIELDS[method][name]
    if not isinstance(value, kinds):
        raise internals_changed(f"{where} (now a {type(value).__name__})")
    return value


# -- what the rest of the platform uses ----------------------------------------------

@dataclass(frozen=True)
class PoolSetting:
    slots: int
    from_default: bool  # the instance's default limit, nobody set this pool


@dataclass(frozen=True)
class PoolUse:
    """Who holds and who waits for a pool, as the instance records it."""
    slots: int
    holders: frozenset[str]   # run ids holding a slot
    waiting: frozenset[str]   # run ids waiting for one


def pools_enforced(instance: dg.DagsterInstance) -> bool:
    """Whether the instance's storage keeps pools (every SQL storage of Dagster 1.x does)."""
    return _property(instance, "supports_global_concurrency_limits")


def pool_limits(instance: dg.DagsterInstance) -> dict[str, PoolSetting]:
    method = "get_pool_limits"
    return {_field(pool, method, "name"): PoolSetting(_field(pool, method, "limit"),
                                                      _field(pool, method, "from_default"))
            for pool in _storage_call(instance, method)}


def set_pool_limit(instance: dg.DagsterInstance, pool: str, slots: int) -> None:
    _storage_call(instance, "set_concurrency_slots", concurrency_key=pool, num=slots)


def pool_use(instance: dg.DagsterInstance, pool: str) -> PoolUse:
    method = "get_concurrency_info"
    info = _storage_call(instance, method, concurrency_key=pool)
    return PoolUse(_field(info, method, "slot_count"), frozenset(_field(info, method, "active_run_ids")),
                   frozenset(_field(info, method, "pending_run_ids")))


def claim_slot(instance: dg.DagsterInstance, pool: str, holder: str, step_key: str) -> float | None:
    """Claim one slot of `pool` for (`holder`, `step_key`): None once held, else the
    seconds to wait before asking again (the claim keeps its place in the pool's queue)."""
    method = "claim_concurrency_slot"
    status = _storage_call(instance, method, concurrency_key=pool, run_id=holder, step_key=step_key)
    if _field(status, method, "is_claimed"):
        return None
    return min(_field(status, method, "sleep_interval") or 1.0, MAX_POLL_SECONDS)


def free_slot(instance: dg.DagsterInstance, holder: str, step_key: str) -> None:
    """Give back the slot (or the place in the queue) of (`holder`, `step_key`)."""
    _storage_call(instance, "free_concurrency_slot_for_step", run_id=holder, step_key=step_key)


@contextmanager
def holding_slot(instance: dg.DagsterInstance, pool: str, holder: str, step_key: str, wait_seconds: float,
                 on_wait: Callable[[PoolUse], None] | None = None) -> Iterator[float]:
    """Hold one slot of `pool` for the block; yields the seconds spent waiting for it.

    `holder` is the run id the UI shows on the pool (or a name for a holder outside a
    run). While the pool is full, `on_wait(use)` is called once, then the claim is
    renewed until it succeeds; after `wait_seconds` `PoolBusy` is raised. The slot (or
    the place in the queue) is given back whatever happens in the block.
    """
    try:
        yield _claim(instance, pool, holder, step_key, wait_seconds, on_wait)
    finally:
        free_slot(instance, holder, step_key)


def _claim(instance: dg.DagsterInstance, pool: str, holder: str, step_key: str, wait_seconds: float,
           on_wait: Callable[[PoolUse], None] | None) -> float:
    """Claim until held; the seconds it took. `PoolBusy` after `wait_seconds` (at once for
    0); the caller gives the place in the queue back either way."""
    started = time.monotonic()
    told = False
    while True:
        pause = claim_slot(instance, pool, holder, step_key)
        if pause is None:
            return round(time.monotonic() - started, 3)
        if not told and on_wait is not None:
            on_wait(pool_use(instance, pool))
            told = True
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise PoolBusy(f"pool {pool} stayed full for {waited:.0f}s")
        time.sleep(pause)


# -- the pools of the catalog ----------------------------------------------------------

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
    if not pools_enforced(instance):
        return {}
    current = pool_limits(instance)
    changed = {}
    for name, slots in catalog_pool_limits(catalog).items():
        known = current.get(name)
        if known is None or known.slots != slots or known.from_default:
            set_pool_limit(instance, name, slots)
            changed[name] = slots
    return changed


def ensure_account_pool(instance: dg.DagsterInstance, pool: str) -> None:
    """Give an account's pool its one slot (an account from a shops table has no pool yet)."""
    if pool_use(instance, pool).slots != ACCOUNT_LIMIT:
        set_pool_limit(instance, pool, ACCOUNT_LIMIT)


def ensure_account_pools(instance: dg.DagsterInstance, platform: str, accounts: Iterable[str]) -> None:
    """`ensure_account_pool` for all of a batch's accounts with one read of the pools, so
    each account's turn afterwards is only its claim and its release."""
    if not pools_enforced(instance):
        return
    current = pool_limits(instance)
    for account in set(accounts):
        pool = account_pool(platform, account)
        known = current.get(pool)
        if known is None or known.slots != ACCOUNT_LIMIT or known.from_default:
            set_pool_limit(instance, pool, ACCOUNT_LIMIT)


class AccountBusy(TimeoutError):
    """The merchant account stayed busy (another run, a login by hand) for as long as the
    step would wait; worth another try later."""


@contextmanager
def account_slot(context: dg.AssetExecutionContext, platform: str, account: str,
                 wait_seconds: float, wait: bool = True, ensured: bool = False,
                 released: Callable[[], str | None] | None = None) -> Iterator[float | None]:
    """Hold the account's pool slot for the block; yields the seconds spent waiting.

    A step over several accounts asks with `wait=False` first: a busy account then yields
    None at once (its place in the queue given back), so the step can download for
    another account meanwhile and come back. With `wait=True`, `AccountBusy` is raised
    when the account stayed busy for `wait_seconds`. `ensured`: the caller gave the
    account's pool its slot already (`ensure_account_pools`).

    The run's log says when the slot was taken only after a wait (it said what it waited
    for), and then when it was given back and after how long. Otherwise the release line
    is said when `released` is not given or returns something to add to it (a batch says
    there how far it is, now and then), so an account that was free costs no log line:
    each is a write to the instance's storage, and a batch goes through many accounts.
    """
    instance = context.instance
    if not pools_enforced(instance):
        context.log.warning("this instance's storage has no pools: the one-download-per-account "
                            "limit is not enforced across runs")
        yield 0.0
        return
    pool = account_pool(platform, account)
    if not ensured:
        ensure_account_pool(instance, pool)
    step_key = f"{context.get_step_execution_context().step.key}[{pool}]"

    told = []

    def tell(use: PoolUse) -> None:
        told.append(use)
        context.log.info(f"waiting for {platform} account {account}: pool {pool} is held by "
                         f"run {', '.join(sorted(use.holders)) or '(being handed over)'}")

    try:
        waited = _claim(instance, pool, context.run_id, step_key, wait_seconds if wait else 0.0,
                        tell if wait else None)
    except PoolBusy as busy:
        free_slot(instance, context.run_id, step_key)
        if not wait:
            yield None
            return
        raise AccountBusy(f"{platform} account {account} stayed busy ({busy}); try again later") from None
    except BaseException:
        free_slot(instance, context.run_id, step_key)
        raise
    held = time.monotonic()
    try:
        if told:
            context.log.info(f"holding pool {pool} ({platform} account {account}) after {waited}s")
        yield waited
    finally:
        free_slot(instance, context.run_id, step_key)
        said = released() if released else ""
        if told or said is not None:
            context.log.info(f"released pool {pool} after {time.monotonic() - held:.1f}s"
                             + (f": {said}" if said else ""))
