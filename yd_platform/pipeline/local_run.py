"""Run planned collections in-process against an instance (the embedded default's
"main job", and the way tests drive a whole dataset chain)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import dagster as dg

from yd_platform.datasets.partitions import raw_partition_key
from yd_platform.pipeline.jobs import collect_job_name, publish_job_name
from yd_platform.pipeline.plan import PlannedCollection


@dataclass
class ChainResult:
    plan: PlannedCollection
    collected: dict[str, bool]
    published: bool | None

    @property
    def success(self) -> bool:
        return all(self.collected.values()) and bool(self.published)


def run_chain(
    defs: dg.Definitions, instance: dg.DagsterInstance, plan: PlannedCollection, *, publish: bool = True,
    run_config: Mapping | None = None,
    on_run: Callable[[str | None, dg.ExecuteInProcessResult], None] | None = None,
) -> ChainResult:
    """Collect every shop of the plan, then merge and publish the period if all succeeded.

    `run_config` goes to every run (the console logger's level, for one); `on_run(shop,
    result)` is called as each run ends (shop None for the publish run), so a caller can
    show the chain's progress while it runs."""
    collect = defs.resolve_job_def(collect_job_name(plan.dataset))
    collected = {}
    for shop in plan.shops:
        result = collect.execute_in_process(
            partition_key=raw_partition_key(plan.period.key, shop),
            instance=instance,
            raise_on_error=False,
            run_config=run_config,
            tags={"yd/shop": f"{plan.dataset.platform}:{shop}", "yd/period": plan.period.label},
        )
        collected[shop] = result.success
        if on_run is not None:
            on_run(shop, result)
    published = None
    if publish and collected and all(collected.values()):
        result = defs.resolve_job_def(publish_job_name(plan.dataset)).execute_in_process(
            partition_key=plan.period.key, instance=instance, raise_on_error=False, run_config=run_config
        )
        published = result.success
        if on_run is not None:
            on_run(None, result)
    return ChainResult(plan, collected, published)
