"""One schedule per enabled dataset, replacing the cron-filled MySQL task tables.

A tick on day T (Asia/Shanghai) requests the dataset's period (T+offset, the T-9..T-3
week or last month) for every shop in the platform's dynamic shop partitions. Run keys
are `<platform>__<dataset>|<period>|<shop>`, so a repeated tick creates nothing twice,
just as `INSERT IGNORE` never reset a finished task.
"""


import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import tick_date
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.partitions import shop_partitions
from yd_platform.pipeline.plan import plan_dataset, shop_accounts


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
        description=f"{ds.name}: {ds.cron} {ds.timezone}, collects {ds.cadence.value} period for every active shop.",
        tags={"yd/platform": ds.platform, "yd/dataset": ds.code},
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        shops = context.instance.get_dynamic_partitions(shop_partitions(ds.platform).name)
        if not shops:
            return dg.SkipReason(f"no active shops for {ds.platform} yet (shops sensor has not run)")
        day = tick_date(context.scheduled_execution_time, ds.timezone)
        return plan_dataset(ds, day, shops).run_requests(accounts)

    return _schedule


def build_schedules(catalog: Catalog) -> list[dg.ScheduleDefinition]:
    return [build_dataset_schedule(catalog, ds) for ds in catalog.datasets(enabled_only=True)]
