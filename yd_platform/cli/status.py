"""`yd-platform status`: the old task-table view, read from the Dagster instance.

The old system kept one row per shop and period with a status column per task
(待执行/已完成/失败). Here each dataset prints a matrix shop x period whose cells come
from the instance: the raw partition's materialization status (materialized / failed /
in progress) plus runs still queued or running for that partition; a last row shows
whether the period was published (the ods partition).
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
from yd_platform.pipeline.assets import ods_key, raw_key
from yd_platform.pipeline.jobs import collect_job_name
from yd_platform.pipeline.partitions import raw_partition_key, raw_partitions, shop_partitions, time_partitions

MATERIALIZED, FAILED, RUNNING, MISSING = "materialized", "failed", "running", "missing"
SYMBOLS = {MATERIALIZED: "ok", FAILED: "FAIL", RUNNING: "run", MISSING: "-"}
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

    def state(self, shop: str, period_key: str) -> str:
        return self.cells[(shop, period_key)]

    def as_json(self) -> dict[str, object]:
        return {
            "platform": self.dataset.platform,
            "dataset": self.dataset.code,
            "periods": [p.label for p in self.periods],
            "shops": {shop: {p.label: self.state(shop, p.key) for p in self.periods} for shop in self.shops},
            "published": {p.label: self.published[p.key] for p in self.periods},
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
                   periods: Iterable[Period]) -> DatasetStatus:
    periods = list(periods)
    shops = shops_of(instance, catalog, ds.platform)
    raw_keys = {(shop, p.key): str(raw_partition_key(p.key, shop)) for shop in shops for p in periods}
    raw_states = _partition_states(instance, raw_key(ds), raw_partitions(ds), list(raw_keys.values()))
    active = _active_partitions(instance, collect_job_name(ds))
    result = DatasetStatus(ds, periods, shops)
    for cell, pk in raw_keys.items():
        state = raw_states[pk]
        result.cells[cell] = RUNNING if pk in active and state != MATERIALIZED else state
    result.published = _partition_states(instance, ods_key(ds), time_partitions(ds), [p.key for p in periods])
    return result


def render(status: DatasetStatus) -> str:
    ds = status.dataset
    labels = [p.label for p in status.periods]
    first = max([len(PUBLISHED_ROW), *(len(s) for s in status.shops)])
    widths = [max(len(label), 4) for label in labels]
    lines = [f"{ds.platform}/{ds.code}  {ds.name}  ({ds.cadence.value})",
             "  ".join([" " * first, *(label.ljust(w) for label, w in zip(labels, widths))])]
    for shop in status.shops:
        cells = [SYMBOLS[status.state(shop, p.key)].ljust(w) for p, w in zip(status.periods, widths)]
        lines.append("  ".join([shop.ljust(first), *cells]))
    published = [SYMBOLS[status.published[p.key]].ljust(w) for p, w in zip(status.periods, widths)]
    lines.append("  ".join([PUBLISHED_ROW.ljust(first), *published]))
    return "\n".join(line.rstrip() for line in lines)


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


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help="shop x period matrix per dataset: materialized/failed/running/missing")
    parser.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", metavar="PLATFORM/DATASET")
    parser.add_argument("--platforms", nargs="+", metavar="PLATFORM")
    parser.add_argument("--date", type=date.fromisoformat, default=None,
                        help="last tick day T shown (default today in Asia/Shanghai)")
    parser.add_argument("--days", type=int, default=7, help="tick days back from --date (default 7)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=status_cmd)


def open_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, or the embedded default's when it is not set."""
    import os

    if not os.environ.get("DAGSTER_HOME"):
        from yd_platform.cli.up import embedded_dagster_home

        embedded_dagster_home()
    return dg.DagsterInstance.get()


def status_cmd(args: argparse.Namespace) -> int:
    from yd_platform.catalog import load_catalog

    from yd_platform.pipeline.plan import platform_today

    catalog = load_catalog()
    args.date = args.date or platform_today(catalog)
    datasets = select_datasets(catalog, args.datasets, args.platforms)
    with open_instance() as instance:
        statuses = [dataset_status(instance, catalog, ds, recent_periods(ds, args.date, args.days))
                    for ds in datasets]
    failing, pending = failing_checks_of(datasets)
    if args.json:
        print(json.dumps({"datasets": [s.as_json() for s in statuses],
                          "failing_checks": [vars(c) for c in failing], "alerts_pending": pending},
                         ensure_ascii=False, indent=2))
        return 0
    legend = "  ".join(f"{symbol}={state}" for state, symbol in SYMBOLS.items())
    print("\n\n".join(render(s) for s in statuses) or "no datasets selected")
    print(f"\n{legend}")
    print("\n" + render_failing(failing, pending))
    return 0


def failing_checks_of(datasets: Sequence[DatasetSpec]):
    """(failing checks of these datasets' assets, the no-channel warning or None), from the
    alert state the yd_notify sensor keeps in the app database."""
    from yd_platform.notify.config import load_notify_config
    from yd_platform.notify.pending import failing_checks, unannounced
    from yd_platform.resources.app_db import engine_for
    from yd_platform.settings import app_db_url

    prefixes = tuple(f"{ds.platform}/{ds.code}/" for ds in datasets)
    failing = [c for c in failing_checks(engine_for(app_db_url())) if c.asset.startswith(prefixes)]
    return failing, unannounced(failing, load_notify_config())


def render_failing(failing, pending: str | None) -> str:
    if not failing:
        return "failing checks: none"
    lines = [f"failing checks ({len(failing)}):"]
    lines += [f"  {c.severity:5} {c.asset}  {c.check}  {c.partition or '-'}" for c in failing]
    if pending:
        lines.append(f"\n{pending}")
    return "\n".join(lines)
