"""A real publish run whose blocking check fails: what the alerting tests alert on."""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog
from yd_platform_tests.object_files import put_raw, reviews


def publish_with_duplicate_keys(defs: dg.Definitions, catalog: Catalog, instance: dg.DagsterInstance, store,
                                day: str = "2025-10-02") -> dg.ExecuteInProcessResult:
    """Run the code location's `pdd__badscore__publish` job for `day` over shop
    pdd_flagship's report stored in `store` (the embedded default's object store), which
    repeats a review id: `keys_unique`, a blocking check, fails on the merged asset and the
    run fails before `ods`."""
    ds = catalog.dataset("pdd", "badscore")
    put_raw(store, ds, day, "pdd_flagship", reviews("a", 2) + reviews("a", 1, score=1))
    return defs.resolve_job_def("pdd__badscore__publish").execute_in_process(
        partition_key=day, instance=instance, raise_on_error=False)
