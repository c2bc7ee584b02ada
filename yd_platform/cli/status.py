"""`yd-platform status`: the old task-table view, read from the Dagster instance.

The old system kept one row per shop and period with a status column per task
(待执行/已完成/失败). Here each dataset prints a matrix shop x period whose cells come
from the instance: the raw partition's materialization status (materialized / failed /
in progress) plus runs still queued or running for that partition; a last row shows
whether the period was published (the ods partition). A shop-period the instance has no
raw file for is still done when the period was adopted from the old system's object
store (`adopted`), or when the old task table says the shop finished it
(`done_in_task_table`, the source named in `--json`).

The exit status is 1 while something shown is failing (a failed partition, an ERROR
check), so a cron job or deploy script can gate on it; `--help` says exactly what counts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import Period, period_for_tick, ticks_on
from yd_platform.cli.terminal import columns
from yd_platform.datasets.keys import ods_key, raw_key
from yd_platform.datasets.partitions import (
    raw_partition_key,
    raw_partitions,
    shop_partitions,
    time_partitions,
)
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.plan import ADOPTED as ADOPTED_WHY
from yd_platform.pipeline.plan import (
    CollectedLookup,
    collected_in_task_table,
    period_adopted,
)

MATERIALIZED, FAILED, RUNNING, MISSING = "materialized", "failed", "running", "missing"
ADOPTED, TASK_TABLE_DONE = "adopted", "done_in_task_table"
SYMBOLS = {MATERIALIZED: "ok", FAILED: "FAIL", RUNNING: "run", MISSING: "-", ADOPTED: "old", TASK_TABLE_DONE: "tt"}
PUBLISHED_ROW = "(published)"
ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dataclass
class DatasetStatus:
    dataset: DatasetSpec
    periods: list[Period]
    shops: list[str]
    cells: dict[tuple[str, str], str] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)
    # (shop, period key) -> where the state comes from, for cells not from the instance
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def state(self, shop: str, period_key: str) -> str:
        return self.cells[(shop, period_key)]

    def as_json(self) -> dict[str, object]:
        return {
            "platform": self.dataset.platform,
            "dataset": self.dataset.code,
            "periods": [p.label for p in self.periods],
            "shops": {shop: {p.label: self.state(shop, p.key) for p in self.periods} for shop in self.shops},
            "published": {p.label: self.published[p.key] for p in self.periods},
            "sources": {shop: {p.label: self.sources[(shop, p.key)] for p in self.periods
                               if (shop, p.key) in self.sources} for shop in self.shops},
        }


# A monthly dataset ticks once a month: look this far back for at least one period.
LONGEST_GAP_DAYS = 62


def recent_periods(ds: DatasetSpec, until: date, days: int) -> list[Period]:
    """The periods the schedule collected on its tick days among the last `days` days
    up to `until`; at least the latest one, however far back its tick was."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    periods: set[Period] = set()
    for back in range(max(days, LONGEST_GAP_DAYS)):
        day = until - timedelta(days=back)
        if back >= days and periods:
            break
        if ticks_on(ds, day):
            periods.add(period_for_tick(ds, day))
    return sorted(periods, key=lambda p: p.start)


def _from_cache(status: object) -> str:
    name = getattr(status, "name", None)
    return {"MATERIALIZED": MATERIALIZED, "FAILED": FAILED, "IN_PROGRESS": RUNNING}.get(name or "", MISSING)


def _partition_states(instance: dg.DagsterInstance, key: dg.AssetKey, partitions_def: dg.PartitionsDefinition,
                      partition_keys: Sequence[str]) -> dict[str, str]:
    statuses = instance.get_status_by_partition(key, list(partition_keys), partitions_def) or {}
    return {pk: _from_cache(statuses.get(pk)) for pk in partition_keys}


def _active_partitions(instance: dg.DagsterInstance, job_name: str) -> set[str]:
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=ACTIVE_RUN_STATUSES))
    return {r.dagster_run.tags.get("dagster/partition", "") for r in records}


def shops_of(instance: dg.DagsterInstance, catalog: Catalog, platform: str) -> list[str]:
    """The shops the instance knows (the shops sensor's partitions), else the catalog's."""
    shops = instance.get_dynamic_partitions(shop_partitions(platform).name)
    return sorted(shops) or sorted(s.id for s in catalog.platforms[platform].shops)


def dataset_status(instance: dg.DagsterInstance, catalog: Catalog, ds: DatasetSpec,
                   periods: Iterable[Period], task_table: CollectedLookup | None = None) -> DatasetStatus:
    """`task_table` says which shops the old task table has as finished (see
    `pipeline.plan.collected_in_task_table`)."""
    periods = list(periods)
    shops = shops_of(instance, catalog, ds.platform)
    raw_keys = {(shop, p.key): str(raw_partition_key(p.key, shop)) for shop in shops for p in periods}
    raw_states = _partition_states(instance, raw_key(ds), raw_partitions(ds), list(raw_keys.values()))
    active = _active_partitions(instance, collect_job_name(ds))
    result = DatasetStatus(ds, periods, shops)
    for cell, pk in raw_keys.items():
        state = raw_states[pk]
        result.cells[cell] = RUNNING if pk in active and state != MATERIALIZED else state
    for period in periods:
        missing = [shop for shop in shops if result.cells[(shop, period.key)] == MISSING]
        if missing and period_adopted(instance, ds, period.key):
            for shop in missing:
                result.cells[(shop, period.key)] = ADOPTED
                result.sources[(shop, period.key)] = ADOPTED_WHY
        elif missing and task_table is not None:
            for shop, why in task_table(ds, period, missing).items():
                result.cells[(shop, period.key)] = TASK_TABLE_DONE
                result.sources[(shop, period.key)] = why
    result.published = _partition_states(instance, ods_key(ds), time_partitions(ds), [p.key for p in periods])
    return result


def render(status: DatasetStatus) -> str:
    ds = status.dataset
    periods = status.periods
    rows = [["", *(p.label for p in periods)]]
    rows += [[shop, *(SYMBOLS[status.state(shop, p.key)] for p in periods)] for shop in status.shops]
    rows.append([PUBLISHED_ROW, *(SYMBOLS[status.published[p.key]] for p in periods)])
    return "\n".join([f"{ds.platform}/{ds.code}  {ds.name}  ({ds.cadence.value})", *columns(rows)])


def failures(statuses: Sequence[DatasetStatus], failing) -> list[str]:
    """What makes `status` exit 1: failed shop-periods or published periods shown, and ERROR
    checks failing on these datasets (alerts pending are such checks nobody is told about).
    Missing and running cells are not failures: a day's collection may not be due yet."""
    failed_cells = sum(state == FAILED for s in statuses for state in [*s.cells.values(), *s.published.values()])
    errors = sum(c.severity == "ERROR" for c in failing)
    found = []
    if failed_cells:
        found.append(f"{failed_cells} failed partition(s)")
    if errors:
        found.append(f"{errors} ERROR check(s) failing")
    return found


def select_datasets(catalog: Catalog, wanted: Sequence[str] | None, platforms: Sequence[str] | None) -> list[DatasetSpec]:
    datasets = catalog.datasets(enabled_only=not wanted)
    if platforms:
        unknown = set(platforms) - set(catalog.platforms)
        if unknown:
            raise ValueError(f"unknown platforms {sorted(unknown)}; known: {sorted(catalog.platforms)}")
        datasets = [ds for ds in datasets if ds.platform in platforms]
    if wanted:
        by_name = {f"{ds.platform}/{ds.code}": ds for ds in catalog.datasets()}
        unknown = [w for w in wanted if w not in by_name]
        if unknown:
            raise ValueError(f"unknown datasets {unknown}; use PLATFORM/DATASET, e.g. {next(iter(by_name))}")
        datasets = [by_name[w] for w in wanted if by_name[w] in datasets]
    return datasets


STATUS_HELP = """\
exit status:
  0  nothing failing among the datasets and days shown
  1  a shop-period or published period shown FAILED, or an ERROR check of these
     datasets is failing (including alerts pending: failing checks no channel announces);
     missing and running cells do not count, a collection may not be due yet"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="shop x period matrix per dataset: materialized/failed/running/missing",
                            description="Per dataset a shop x period matrix read from the Dagster instance, then "
                                        "the failing checks.",
                            epilog=STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", metavar="PLATFORM/DATASET",
                        help="only these datasets, e.g. pdd/badscore (default: every enabled one)")
    parser.add_argument("--platforms", nargs="+", metavar="PLATFORM", help="only these platforms' datasets")
    parser.add_argument("--date", type=date.fromisoformat, default=None,
                        help="last tick day T shown (default today in Asia/Shanghai)")
    parser.add_argument("--days", type=int, default=7, help="tick days back from --date (default 7)")
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output (with `failures`: what makes the exit status 1)")
    parser.set_defaults(func=status_cmd)


def status_cmd(args: argparse.Namespace) -> int:
    from yd_platform.catalog import load_catalog
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.pipeline.plan import platform_today

    catalog = load_catalog()
    args.date = args.date or platform_today(catalog)
    datasets = select_datasets(catalog, args.datasets, args.platforms)
    task_table = old_task_table(catalog)
    with open_instance() as instance:
        statuses = [dataset_status(instance, catalog, ds, recent_periods(ds, args.date, args.days), task_table)
                    for ds in datasets]
    failing, pending = failing_checks_of(datasets)
    shadow = shadow_mode_of()
    found = failures(statuses, failing)
    if args.json:
        print(json.dumps({"datasets": [s.as_json() for s in statuses],
                          "failing_checks": [vars(c) for c in failing], "alerts_pending": pending,
                          "shadow_mode": shadow, "failures": found}, ensure_ascii=False, indent=2))
        return 1 if found else 0
    print(f"outgoing messages: {shadow['line']}\n")
    legend = "  ".join(f"{symbol}={state}" for state, symbol in SYMBOLS.items())
    print("\n\n".join(render(s) for s in statuses) or "no datasets selected")
    print(f"\n{legend}")
    print("\n" + render_failing(failing, pending))
    print("\n" + (f"failing: {', '.join(found)}" if found else "nothing failing"))
    return 1 if found else 0


def old_task_table(catalog: Catalog) -> CollectedLookup:
    """Which shops the old task tables (task_tables.yaml) have as finished, by shop id."""
    from yd_platform.resources.shops import shop_source_from_env
    from yd_platform.resources.task_tables import task_tables_from_env

    task_tables, shop_source = task_tables_from_env(), shop_source_from_env()
    return lambda ds, period, shops: collected_in_task_table(
        task_tables, lambda: shop_source.shop_names(catalog, ds.platform), ds, period, shops)


def shadow_mode_of() -> dict:
    """Whether messages are held (YD_SHADOW_MODE), what is held per kind, and the line saying so."""
    from yd_platform.deployment import app_db_url
    from yd_platform.outbox.shadow import describe, held_by_kind, shadow_from_env
    from yd_platform.resources.app_db import engine_for

    on, held = shadow_from_env(), held_by_kind(engine_for(app_db_url()))
    return {"on": on, "held": dict(held), "line": describe(on, held)}


def failing_checks_of(datasets: Sequence[DatasetSpec]):
    """(failing checks of these datasets' assets, the no-channel warning or None), from the
    alert state the yd_notify sensor keeps in the app database."""
    from yd_platform.deployment import app_db_url
    from yd_platform.notify.pending import failing_checks, unannounced_now
    from yd_platform.resources.app_db import engine_for

    prefixes = tuple(f"{ds.platform}/{ds.code}/" for ds in datasets)
    failing = [c for c in failing_checks(engine_for(app_db_url())) if c.asset.startswith(prefixes)]
    return failing, unannounced_now(failing)


def render_failing(failing, pending: str | None) -> str:
    if not failing:
        return "failing checks: none"
    lines = [f"failing checks ({len(failing)}):"]
    lines += ["  " + line for line in columns([[c.severity, c.asset, c.check, c.partition or "-"] for c in failing])]
    if pending:
        lines.append(f"\n{pending}")
    return "\n".join(lines)
