"""One schedule per enabled dataset, replacing the cron-filled MySQL task tables.

A tick on day T (Asia/Shanghai) requests the dataset's period (T+offset, the T-9..T-3
week or last month) for every shop in the platform's dynamic shop partitions. Run keys
are `<platform>__<dataset>|<period>|<shop>`, so a repeated tick creates nothing twice,
just as `INSERT IGNORE` never reset a finished task. A shop whose period is collected
already (its raw partition is in, the period was adopted from the old system, or the old
task table says `已完成`) is not requested at all (see `pipeline.plan`).
"""


import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import tick_date
from yd_platform.datasets.partitions import shop_partitions
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.plan import (
    collected_in_instance,
    collected_in_task_table,
    first_of,
    plan_dataset,
    shop_accounts,
)


def schedule_name(ds: DatasetSpec) -> str:
    return f"{ds.slug}__schedule"


def build_dataset_schedule(catalog: Catalog, ds: DatasetSpec) -> dg.ScheduleDefinition:
    accounts = shop_accounts(catalog, ds.platform)

    @dg.schedule(
        name=schedule_name(ds),
        cron_schedule=ds.cron,
        execution_timezone=ds.timezone,
        job_name=collect_job_name(ds),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{ds.name}: {ds.cron} {ds.timezone}, collects the {ds.cadence.value} period for every active "
                    "shop that has not collected it already (raw partition in, period adopted, or 已完成 in the "
                    "old task table).",
        tags={"yd/platform": ds.platform, "yd/dataset": ds.code},
        required_resource_keys={"shop_source", "task_tables"},
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        shops = context.instance.get_dynamic_partitions(shop_partitions(ds.platform).name)
        if not shops:
            return dg.SkipReason(f"no active shops for {ds.platform} yet (shops sensor has not run)")
        day = tick_date(context.scheduled_execution_time, ds.timezone)
        resources = context.resources
        collected = first_of(
            lambda d, period, rest: collected_in_instance(context.instance, d, period, rest),
            lambda d, period, rest: collected_in_task_table(
                resources.task_tables, lambda: resources.shop_source.shop_names(catalog, d.platform), d, period, rest),
        )
        plan = plan_dataset(ds, day, shops, collected)
        if not plan.shops:
            reasons = sorted({why for _, why in plan.collected})
            return dg.SkipReason(f"{ds.slug} {plan.period.label}: every shop collected already ({'; '.join(reasons)})")
        return plan.run_requests(accounts)

    return _schedule


def build_schedules(catalog: Catalog) -> list[dg.ScheduleDefinition]:
    return [build_dataset_schedule(catalog, ds) for ds in catalog.datasets(enabled_only=True)]
