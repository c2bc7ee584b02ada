"""The platform's collection outcomes, written back into the old task tables for the
tools that still read them.

Each raw partition the instance records as materialized sets the dataset's status
column of `(period, shop name)` to `已完成`; each one planned by a run that failed or was
canceled sets the failure word (`task_tables.yaml`) unless the column already says
`已完成`. Rows are created with `INSERT IGNORE`, so nothing written by the old generator
is lost. The events are read from the instance in storage order after a cursor per
dataset, so a tick that fails (a column missing, the database down) is repeated by the
next; writing a status twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import period_from_key
from yd_platform.datasets.keys import raw_key
from yd_platform.datasets.partitions import DATE_DIM, SHOP_DIM, raw_partitions
from yd_platform.resources.task_tables import TaskTablesResource

BATCH = 500


@dataclass(frozen=True)
class Outcome:
    partition: str
    succeeded: bool


FINISHED_UNSUCCESSFULLY = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def new_outcomes(instance: dg.DagsterInstance, ds: DatasetSpec, cursor: dict[str, int]) -> list[Outcome]:
    """Raw partitions materialized, and raw partitions planned in a run that ended without
    them, after `cursor` ({"done": storage id, "planned": storage id}, advanced in place).
    A run still going holds the planned side back until it ends."""
    outcomes = []
    done = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=raw_key(ds), after_storage_id=cursor.get("done")),
        limit=BATCH, ascending=True).records
    for record in done:
        if record.partition_key:
            outcomes.append(Outcome(record.partition_key, True))
        cursor["done"] = record.storage_id
    planned = instance.fetch_planned_materializations(
        dg.AssetRecordsFilter(asset_key=raw_key(ds), after_storage_id=cursor.get("planned")),
        limit=BATCH, ascending=True).records
    for record in planned:
        run = instance.get_run_by_id(record.event_log_entry.run_id)
        if run is not None and not run.is_finished:
            break
        if run is not None and run.status in FINISHED_UNSUCCESSFULLY and record.partition_key:
            outcomes.append(Outcome(record.partition_key, False))
        cursor["planned"] = record.storage_id
    return outcomes


def write_outcomes(instance: dg.DagsterInstance, catalog: Catalog, task_tables: TaskTablesResource,
                   shop_names: Callable[[str], Mapping[str, str]], cursor: dict[str, dict[str, int]],
                   log=None) -> dict[str, int]:
    """Write every new outcome of the datasets whose table is in use; advances `cursor`
    ({dataset slug: {"done": id, "planned": id}}) in place. Returns {dataset slug: rows written}.
    A collect run's only step is the raw asset, so a run that failed or was canceled
    after planning a raw partition did not collect it."""
    written: dict[str, int] = {}
    for ds in catalog.datasets():
        if task_tables.table_for(ds, "write") is None:
            continue  # not in use (yet): its events wait, the cursor stays
        position = dict(cursor.get(ds.slug, {}))
        outcomes = new_outcomes(instance, ds, position)
        partitions = raw_partitions(ds)
        for outcome in outcomes:
            keys = partitions.get_partition_key_from_str(outcome.partition).keys_by_dimension
            period = period_from_key(ds.cadence, keys[DATE_DIM])
            shop = shop_names(ds.platform).get(keys[SHOP_DIM], keys[SHOP_DIM])
            status = task_tables.record(ds, period, shop, outcome.succeeded)
            if log is not None:
                log.info(f"{ds.slug} {period.label} {shop}: {status}")
            written[ds.slug] = written.get(ds.slug, 0) + 1
        cursor[ds.slug] = position  # only once every outcome up to it is written
    return written


def build_task_tables_sensor(catalog: Catalog) -> dg.SensorDefinition:
    platforms = ", ".join(sorted(catalog.platforms))

    @dg.sensor(
        name="yd_task_tables",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        required_resource_keys={"task_tables", "shop_source"},
        description="Writes collected and failed raw partitions back into the old task tables "
                    f"(task_tables.yaml; platforms {platforms}) for the tools that still read them.",
    )
    def task_tables_sensor(context: dg.SensorEvaluationContext):
        cursor = json.loads(context.cursor) if context.cursor else {}
        names: dict[str, Mapping[str, str]] = {}

        def shop_names(platform: str) -> Mapping[str, str]:
            if platform not in names:
                names[platform] = context.resources.shop_source.shop_names(catalog, platform)
            return names[platform]

        written = write_outcomes(context.instance, catalog, context.resources.task_tables, shop_names, cursor,
                                 log=context.log)
        context.update_cursor(json.dumps(cursor, sort_keys=True))
        if not written:
            return dg.SkipReason("no new raw outcomes for a task table in use")
        return dg.SkipReason("task table rows written: " + ", ".join(f"{k} {n}" for k, n in sorted(written.items())))

    return task_tables_sensor
