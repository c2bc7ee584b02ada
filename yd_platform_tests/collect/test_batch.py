"""The order in which a batch takes its accounts, and how often it says how far it is."""

from __future__ import annotations

import uuid

from yd_platform.collect.batch import BatchProgress, accounts_in_turn

ACCOUNTS = {f"acc_{n:02d}": [f"shop_{n:02d}"] for n in range(25)}


def test_each_run_takes_the_same_accounts_from_its_own_start():
    names = list(ACCOUNTS)
    starts = set()
    for _ in range(40):
        run_id = str(uuid.uuid4())
        turn = [account for account, _ in accounts_in_turn(run_id, ACCOUNTS)]
        start = names.index(turn[0])
        assert turn == names[start:] + names[:start]  # every account once, in the catalog's cycle
        assert [a for a, _ in accounts_in_turn(run_id, ACCOUNTS)] == turn  # a retry keeps its run's order
        starts.add(turn[0])
    # two runs of a backfill rarely begin with the same account
    assert len(starts) >= 15, starts
    assert list(accounts_in_turn("any", {})) == []


def test_progress_is_said_after_the_first_account_now_and_then_and_after_the_last():
    progress = BatchProgress("pdd", todo=6, every=10.0)
    said = {now: progress.line(f"acc_{now}", 1, collected, failed, float(now))
            for now, collected, failed in [(0, 1, 0), (4, 2, 0), (9, 2, 1), (11, 4, 0), (15, 5, 0), (16, 5, 1)]}
    assert said[0] == "pdd account acc_0 done (1 partitions): 1 of 6 partitions handled, 1 collected, 0 failed"
    assert said[4] is None and said[9] is None  # within 10 s of the last line
    assert said[11] == "pdd account acc_11 done (1 partitions): 4 of 6 partitions handled, 4 collected, 0 failed"
    assert said[15] is None
    assert said[16].endswith("6 of 6 partitions handled, 5 collected, 1 failed")  # the last, whenever it comes
