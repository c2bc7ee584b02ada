"""The Dagster storage internals `instance/pools.py` relies on (claiming, freeing and
reading pool slots, pool limits), on a real SQLite instance and on MariaDB storage.

After a Dagster upgrade these fail first, naming the method, parameter or answer field
that changed, instead of a collect step failing with an AttributeError.
"""

from __future__ import annotations

import dagster as dg
import pytest

from yd_platform.instance import pools
from yd_platform.instance.pools import (
    DagsterInternalsChanged,
    PoolBusy,
    claim_slot,
    free_slot,
    holding_slot,
    pool_limits,
    pool_use,
    pools_enforced,
    set_pool_limit,
    storage_contract_problems,
)

POOL = "account_pdd_contract_probe"


@pytest.fixture(params=["sqlite", "mariadb"])
def any_instance(request) -> dg.DagsterInstance:
    """A real instance on each storage the platform runs on."""
    if request.param == "sqlite":
        with dg.instance_for_test() as instance:
            yield instance
    else:
        url = request.getfixturevalue("mysql_url")
        with dg.instance_for_test(overrides={"storage": {"mysql": {"mysql_url": url}}}) as instance:
            yield instance


def test_the_storage_offers_every_call_pools_py_makes(any_instance):
    assert pools_enforced(any_instance)
    problems = storage_contract_problems(any_instance)
    assert not problems, f"Dagster {dg.__version__} changed its storage:\n" + "\n".join(problems)


def test_slots_are_claimed_queued_and_given_back(any_instance):
    """Every call and answer field `pools.py` uses, with the meaning it relies on."""
    set_pool_limit(any_instance, POOL, 1)
    setting = pool_limits(any_instance)[POOL]
    assert (setting.slots, setting.from_default) == (1, False)

    assert claim_slot(any_instance, POOL, "run-a", "step") is None  # claimed
    pause = claim_slot(any_instance, POOL, "run-b", "step")
    assert pause is not None and 0 < pause <= pools.MAX_POLL_SECONDS  # full: ask again later
    use = pool_use(any_instance, POOL)
    assert (use.slots, use.holders, use.waiting) == (1, {"run-a"}, {"run-b"})

    free_slot(any_instance, "run-a", "step")
    assert claim_slot(any_instance, POOL, "run-b", "step") is None  # the next in the queue gets it
    assert pool_use(any_instance, POOL).holders == {"run-b"}
    free_slot(any_instance, "run-b", "step")
    use = pool_use(any_instance, POOL)
    assert not use.holders and not use.waiting


def test_a_holder_that_waits_too_long_gives_up_its_place(any_instance):
    set_pool_limit(any_instance, POOL, 1)
    told = []
    with holding_slot(any_instance, POOL, "run-a", "step", wait_seconds=60) as waited:
        assert waited >= 0
        with pytest.raises(PoolBusy, match=POOL):
            with holding_slot(any_instance, POOL, "run-b", "step", wait_seconds=0, on_wait=told.append):
                pass
        assert pool_use(any_instance, POOL).waiting == set()  # no place left in the queue
    assert [use.holders for use in told] == [{"run-a"}]
    assert not pool_use(any_instance, POOL).holders


def test_a_renamed_parameter_is_named(instance, monkeypatch):
    storage_class = type(instance.event_log_storage)

    def claim_concurrency_slot(self, pool_name, run_id, step_key, priority=None):
        raise AssertionError("not to be called")

    monkeypatch.setattr(storage_class, "claim_concurrency_slot", claim_concurrency_slot)
    with pytest.raises(DagsterInternalsChanged, match=r"claim_concurrency_slot\(pool_name, .*no parameter "
                                                      r"concurrency_key"):
        claim_slot(instance, POOL, "run-a", "step")
    assert any("claim_concurrency_slot" in p for p in storage_contract_problems(instance))


def test_a_new_required_parameter_is_named(instance, monkeypatch):
    storage_class = type(instance.event_log_storage)

    def free_concurrency_slot_for_step(self, run_id, step_key, reason):
        raise AssertionError("not to be called")

    monkeypatch.setattr(storage_class, "free_concurrency_slot_for_step", free_concurrency_slot_for_step)
    with pytest.raises(DagsterInternalsChanged, match="free_concurrency_slot_for_step.*new required parameter reason"):
        free_slot(instance, "run-a", "step")


@pytest.mark.parametrize("method, field, kwargs, call", [
    ("claim_concurrency_slot", "is_claimed", {}, lambda i: claim_slot(i, POOL, "run-a", "step")),
    ("claim_concurrency_slot", "sleep_interval", {"is_claimed": False},
     lambda i: claim_slot(i, POOL, "run-a", "step")),
    ("get_concurrency_info", "active_run_ids", {}, lambda i: pool_use(i, POOL)),
    ("get_concurrency_info", "pending_run_ids", {}, lambda i: pool_use(i, POOL)),
    ("get_concurrency_info", "slot_count", {}, lambda i: pool_use(i, POOL)),
    ("get_pool_limits", "limit", {}, pool_limits),
    ("get_pool_limits", "from_default", {}, pool_limits),
])
def test_a_field_gone_from_an_answer_is_named(instance, monkeypatch, method, field, kwargs, call):
    """Dagster's real answer, less one field (as an upgrade would leave it)."""
    set_pool_limit(instance, POOL, 1)
    storage_class = type(instance.event_log_storage)
    real = getattr(storage_class, method)
    fields = pools.ANSWER_FIELDS[method]

    class Changed:
        def __init__(self, answer):
            for name in fields:
                if name != field:
                    setattr(self, name, kwargs.get(name, getattr(answer, name)))

    def changed(self, *args, **kw):
        answer = real(self, *args, **kw)
        return [Changed(a) for a in answer] if method == "get_pool_limits" else Changed(answer)

    monkeypatch.setattr(storage_class, method, changed)
    with pytest.raises(DagsterInternalsChanged, match=rf"{method} \(Changed\)\.{field} \(no such field"):
        call(instance)


def test_a_field_of_another_type_is_named(instance, monkeypatch):
    storage_class = type(instance.event_log_storage)
    real = storage_class.get_concurrency_info

    class Listed:
        def __init__(self, info):
            self.slot_count, self.pending_run_ids = info.slot_count, info.pending_run_ids
            self.active_run_ids = sorted(info.active_run_ids)  # a list where a set was

    monkeypatch.setattr(storage_class, "get_concurrency_info", lambda self, **kw: Listed(real(self, **kw)))
    with pytest.raises(DagsterInternalsChanged, match=r"get_concurrency_info \(Listed\)\.active_run_ids \(now a list\)"):
        pool_use(instance, POOL)
