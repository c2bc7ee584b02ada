"""The old system's history becomes the platform's materialized partitions, without
downloading anything again (`yd-platform adopt`).

What is adopted, per dataset and period:

- **ODS objects in the old shape** under `<object_path>/dt=<period>/` (one or more
  parquet files: `merged_data.parquet`, `merged_badscore_data.parquet`, `<date>.parquet`,
  `data.parquet`, ...; `shop` and the report's headers, all text): converted once into the
  platform's typed table (`old_shape_tables`), written as the period's merged parquet and
  Excel and published as the ODS partition (`dt=<period>/part-00000.parquet`, replacing
  the old objects, which are kept under `adopted/<their key>`); `merged` and `ods` are
  recorded as materialized.
- **ODS partitions already in the platform's layout** whose `ods` the instance does not
  know (a new instance): recorded as they are, `merged` too where its parquet is there.
- **Merged workbooks** of the old machines (`--old-files`, see `old_files`), for periods
  without ODS objects (the old upload failed, the workbook stayed): converted the same way.
- **Shop files** of the old machines: verified like a download and filed as the raw
  partition of the shop (`raw/<platform>/<dataset>/<period>/<shop id>.<ext>`), recorded as
  materialized. A period whose shop files are not there keeps its raw partitions missing:
  automation never collects a raw partition, and merges a period only when every shop's
  raw file is newer than its merge, so an adopted period is not redone.

Each is recorded as a runless materialization (`report_runless_asset_event`) with the
rows, the source objects or files and `adopted: true`, in the order raw, merged, ods, so
no stage looks older than the one before it. Partitions whose stage the instance knows
already are skipped: a second run records nothing new.

Not adopted, and listed with the reason: unreadable parquet, columns that are not the
dataset's (no `shop` column, a required column missing), a value that does not fit its
column, a `dt=` that is no period of the dataset (or one before its `start_date`),
objects outside any dataset's folder, shop files of unknown shops.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.periods import period_from_key
from yd_platform.collect.errors import CollectError
from yd_platform.collect.verify import verify_report
from yd_platform.cutover.old_files import OldFile, Refusal, scan_old_files
from yd_platform.cutover.old_shape_tables import (
    TypedPartition,
    is_platform_layout,
    read_old_parquet,
    read_old_workbook,
    typed_partition,
)
from yd_platform.datasets.keys import merged_key, ods_key, raw_key
from yd_platform.datasets.layout import (
    DATA_FILE,
    is_data_file,
    merged_excel,
    merged_parquet,
    ods_partition_prefix,
    raw_object,
)
from yd_platform.datasets.partitions import (
    ODS_PARTITION_COLUMN,
    ods_partition_of_value,
    raw_partition_key,
    shop_partitions,
    time_partitions,
)
from yd_platform.datasets.schema import excel_headers
from yd_platform.merge.excel import ExcelSink
from yd_platform.reports.errors import BadShopFile
from yd_platform.tables.ods import OdsError, publish_partition

KEPT_PREFIX = "adopted"
ODS_ROOT = "ods"


@dataclass
class Adopted:
    """One line of the report: what is (or would be) recorded for a partition."""

    dataset: str
    partition: str
    stages: list[str]
    origin: str
    rows: int
    sources: list[str]
    shops: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "partition": self.partition, "stages": self.stages,
                "origin": self.origin, "rows": self.rows, "sources": self.sources, "shops": self.shops}


@dataclass
class AdoptionReport:
    applied: bool
    adopted: list[Adopted] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)  # (dataset, partition) known already
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(a.rows for a in self.adopted)

    def as_json(self) -> dict[str, object]:
        return {"applied": self.applied, "adopted": [a.as_json() for a in self.adopted],
                "recorded_already": [{"dataset": d, "partition": p} for d, p in self.already],
                "not_adopted": [{"where": r.where, "reason": r.reason} for r in self.refused],
                "warnings": self.warnings}

    def render(self) -> str:
        lines: list[str] = []
        for dataset in dict.fromkeys([a.dataset for a in self.adopted] + [d for d, _ in self.already]):
            lines.append(dataset)
            for a in (a for a in self.adopted if a.dataset == dataset):
                more = f" (+{len(a.sources) - 1} more)" if len(a.sources) > 1 else ""
                shops = f"  shops {len(a.shops)}" if a.shops else ""
                lines.append(f"  {a.partition:<12} {', '.join(a.stages):<16} {a.rows:>9,} rows{shops}  "
                             f"{a.origin}: {a.sources[0] if a.sources else '-'}{more}")
            known = [p for d, p in self.already if d == dataset]
            if known:
                lines.append(f"  recorded already: {len(known)} partition(s) ({known[0]} .. {known[-1]})")
        if self.refused:
            lines.append(f"not adopted ({len(self.refused)}):")
            lines += [f"  {r.where}: {r.reason}" for r in self.refused]
        lines += [f"warning: {w}" for w in self.warnings]
        verb = "recorded" if self.applied else "would record"
        partitions = len({(a.dataset, a.partition) for a in self.adopted})
        lines.append(f"{verb}: {partitions} partition(s), {self.rows:,} rows; not adopted: {len(self.refused)}")
        if not self.applied:
            lines.append("dry run: nothing written or recorded; run again with --apply to record")
        return "\n".join(lines)


def _dataset_of(catalog_datasets: list[DatasetSpec], key: str) -> DatasetSpec | None:
    for ds in sorted(catalog_datasets, key=lambda d: -len(d.object_path)):
        if key.startswith(ds.object_path.strip("/") + "/"):
            return ds
    return None


def _period_problem(ds: DatasetSpec, value: str, valid: set[str]) -> tuple[str | None, str]:
    """(partition key, "") of a `dt=` value, or (None, why not)."""
    key = ods_partition_of_value(ds, value)
    kind = {"daily": "a day YYYY-MM-DD", "weekly": "first and last day of one of its weeks",
            "monthly": "first and last day of a month"}[ds.cadence.value]
    if key is None:
        return None, f"{ODS_PARTITION_COLUMN}={value} is no period of {ds.platform}/{ds.code} ({kind})"
    if key not in valid:
        if period_from_key(ds.cadence, key).start < ds.start_date:
            return None, (f"{ODS_PARTITION_COLUMN}={value} is before the dataset's start_date {ds.start_date} "
                          "(set an earlier start_date in platforms.yaml to adopt it)")
        return None, f"{ODS_PARTITION_COLUMN}={value} is not one of the dataset's partitions yet"
    return key, ""


def scan_ods_objects(store, catalog: Catalog, datasets: list[DatasetSpec],
                     valid: Callable[[DatasetSpec], set[str]]) -> tuple[dict[tuple[str, str], list[str]], list[Refusal]]:
    """{(dataset slug, partition): object keys} under `ods/`, and what cannot be adopted."""
    every = catalog.datasets()
    wanted = {ds.slug for ds in datasets}
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    refused: dict[tuple[str, str], int] = defaultdict(int)
    for obj in store.list(ODS_ROOT):
        name = obj.key.rsplit("/", 1)[-1]
        if name.startswith((".", "_")):
            continue  # the old upload service's `.path_marker`, hidden and in-progress names
        folder = obj.key.rsplit("/", 1)[0]
        ds = _dataset_of(every, obj.key)
        if ds is None:
            refused[(folder, "no dataset of the catalog has its object_path here")] += 1
            continue
        if ds.slug not in wanted:
            continue
        rest = obj.key[len(ds.object_path.strip("/")) + 1:]
        column, sep, value = rest.split("/", 1)[0].partition("=")
        if "/" not in rest or rest.count("/") > 1 or not sep or column != ODS_PARTITION_COLUMN:
            refused[(folder, f"not in a {ODS_PARTITION_COLUMN}= partition folder of {ds.table}")] += 1
            continue
        key, problem = _period_problem(ds, value, valid(ds))
        if key is None:
            refused[(folder, problem)] += 1
        elif not is_data_file(obj.key):
            refused[(obj.key, "not a parquet data file")] += 1
        else:
            found[(ds.slug, key)].append(obj.key)
    refusals = [Refusal(where if n == 1 else f"{where}/ ({n} objects)", reason)
                for (where, reason), n in sorted(refused.items())]
    return found, refusals


class Adoption:
    """One run of `adopt` over the object store, the old files and the instance."""

    def __init__(self, catalog: Catalog, store, instance: dg.DagsterInstance, shop_names: Mapping[str, Mapping[str, str]],
                 shop_id_of: Callable[[str, str], str], *, apply: bool, refresh: Callable | None = None,
                 progress: Callable | None = None):
        self.catalog, self.store, self.instance = catalog, store, instance
        # (phase, done, total, detail) as the work goes on: the scan, then each dataset's periods
        self.progress = progress or (lambda *args: None)
        self.shop_names = shop_names    # platform -> {shop id: name}
        self.shop_id_of = shop_id_of    # (platform, shop name) -> shop id
        self.apply = apply
        self.refresh = refresh          # (ds, {partition: rows}) -> None: make the table engine see them
        self.report = AdoptionReport(applied=apply)
        self._valid: dict[str, set[str]] = {}

    def valid_partitions(self, ds: DatasetSpec) -> set[str]:
        if ds.slug not in self._valid:
            self._valid[ds.slug] = set(time_partitions(ds).get_partition_keys())
        return self._valid[ds.slug]

    def run(self, datasets: list[DatasetSpec], old_files: Path | None = None) -> AdoptionReport:
        self.progress("scanning the object store", 0, None)
        objects, refused = scan_ods_objects(self.store, self.catalog, datasets, self.valid_partitions)
        self.progress("scanning the object store", len(objects), None, "periods with objects")
        self.report.refused += refused
        files: list[OldFile] = []
        if old_files is not None:
            files, refused = scan_old_files(old_files, datasets)
            self.report.refused += refused
        for ds in datasets:
            self.adopt_dataset(ds, objects, [f for f in files if f.ds.slug == ds.slug])
        return self.report

    def adopt_dataset(self, ds: DatasetSpec, objects: Mapping[tuple[str, str], list[str]], files: list[OldFile]) -> None:
        keys = sorted({k for slug, k in objects if slug == ds.slug} | {f.partition for f in files})
        if not keys:
            return
        valid = self.valid_partitions(ds)
        recorded = {stage: self.instance.get_materialized_partitions(key(ds))
                    for stage, key in (("merged", merged_key), ("ods", ods_key), ("raw", raw_key))}
        shops = set(self.instance.get_dynamic_partitions(shop_partitions(ds.platform).name))
        written: dict[str, int] = {}
        phase = f"{'adopting' if self.apply else 'reading'} {ds.platform}/{ds.code}"
        for done, key in enumerate(keys):
            self.progress(phase, done, len(keys), key)
            if key not in valid:
                for f in (f for f in files if f.partition == key):
                    self.report.refused.append(Refusal(str(f.path), f"period {key} is not one of the dataset's "
                                                                    f"partitions (start_date {ds.start_date})"))
                continue
            for f in (f for f in files if f.partition == key and f.kind == "shop file"):
                self.adopt_shop_file(ds, key, f, shops, recorded["raw"])
            if key in recorded["ods"]:
                self.report.already.append((f"{ds.platform}/{ds.code}", key))
                continue
            keys_here = objects.get((ds.slug, key), [])
            workbooks = [f.path for f in files if f.partition == key and f.kind == "merged workbook"]
            rows = self.adopt_partition(ds, key, keys_here, workbooks, key in recorded["merged"])
            if rows is not None:
                written[key] = rows
        self.progress(phase, len(keys), len(keys))
        if self.apply and written and self.refresh is not None:
            try:
                self.refresh(ds, written)
            except Exception as exc:  # noqa: BLE001 - the files are in place; the next publish refreshes again
                self.report.warnings.append(f"{ds.platform}/{ds.code}: partitions written, but refreshing the "
                                            f"table engine failed: {exc}")

    # ---- one period --------------------------------------------------------------

    def adopt_partition(self, ds: DatasetSpec, key: str, object_keys: list[str], workbooks: list[Path],
                        merged_known: bool) -> int | None:
        """Read, check and (with apply) write and record one period; the rows, or None when
        it is not adopted."""
        if not object_keys and not workbooks:
            return None
        where = ods_partition_prefix(ds, key) if object_keys else str(workbooks[0])
        with tempfile.TemporaryDirectory(prefix="yd-adopt-") as scratch:
            local = self._download(object_keys, Path(scratch))
            layout = {}
            for source, path in local.items():
                try:
                    layout[source] = is_platform_layout(ds, pq.read_schema(path))
                except Exception as exc:  # noqa: BLE001 - any arrow error means the object is unreadable
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    self.report.refused.append(Refusal(source, f"unreadable parquet: {exc.__class__.__name__}: "
                                                               f"{first}; the period {key} is not adopted"))
                    return None
            if layout and all(layout.values()):
                return self._record_platform_layout(ds, key, local, merged_known)
            if any(layout.values()):
                mixed = sorted(k for k, v in layout.items() if v)
                self.report.refused.append(Refusal(where, f"mixes the platform's layout ({', '.join(mixed)}) with "
                                                          "objects in the old shape; remove one of them"))
                return None
            period = period_from_key(ds.cadence, key)
            try:
                if object_keys:
                    olds = [read_old_parquet(p, k) for k, p in local.items()]
                    origin, sources = "old ods objects", list(object_keys)
                else:
                    olds = [read_old_workbook(ds, p, p.name) for p in workbooks]
                    origin, sources = "old merged workbook", [str(p) for p in workbooks]
                typed = typed_partition(ds, period, olds, lambda name: self.shop_id_of(ds.platform, name))
            except BadShopFile as exc:
                self.report.refused.append(Refusal(where, str(exc)))
                return None
            adopted = Adopted(f"{ds.platform}/{ds.code}", key, ["merged", "ods"], origin, typed.table.num_rows,
                              sources, typed.rows_per_shop)
            self.report.adopted.append(adopted)
            if self.apply:
                self._write_and_record(ds, key, typed, local, adopted)
            return typed.table.num_rows

    def _download(self, keys: list[str], scratch: Path) -> dict[str, Path]:
        local = {}
        for i, key in enumerate(keys):
            path = scratch / f"{i}.parquet"
            self.store.download(key, path)
            local[key] = path
        return local

    def _record_platform_layout(self, ds: DatasetSpec, key: str, local: dict[str, Path], merged_known: bool) -> int:
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in local.values())
        has_merged = not merged_known and self.store.exists(merged_parquet(ds, key))
        stages = (["merged"] if has_merged else []) + ["ods"]
        adopted = Adopted(f"{ds.platform}/{ds.code}", key, stages, "platform layout", rows, sorted(local))
        self.report.adopted.append(adopted)
        if self.apply:
            if has_merged:
                self._record(merged_key(ds), key, rows, adopted, parquet=self.store.uri(merged_parquet(ds, key)))
            self._record(ods_key(ds), key, rows, adopted, partition_path=self.store.uri(ods_partition_prefix(ds, key)))
        return rows

    def _write_and_record(self, ds: DatasetSpec, key: str, typed: TypedPartition, local: dict[str, Path],
                          adopted: Adopted) -> None:
        with tempfile.TemporaryDirectory(prefix="yd-adopt-out-") as scratch:
            parquet_path, excel_path = Path(scratch, "merged.parquet"), Path(scratch, "merged.xlsx")
            pq.write_table(typed.table, parquet_path)
            excel = ExcelSink(excel_path, ds.name, excel_headers(ds))
            try:
                excel.append(typed.table)
                excel.close()
            except BaseException:
                excel.discard()
                raise
            self.store.put_file(merged_parquet(ds, key), parquet_path)
            self.store.put_file(merged_excel(ds, key), excel_path)
        for source, path in local.items():  # the old objects stay, beside the table
            self.store.put_file(f"{KEPT_PREFIX}/{source}", path)
        for obj in self.store.list(ods_partition_prefix(ds, key)):  # and whatever else the folder held
            if obj.key not in local and not obj.key.endswith("/" + DATA_FILE):
                self.store.put_bytes(f"{KEPT_PREFIX}/{obj.key}", self.store.get_bytes(obj.key))
        try:
            published = publish_partition(self.store, ds, key)
        except OdsError as exc:  # pragma: no cover - the merged parquet was just written in the schema
            raise RuntimeError(f"{ds.platform}/{ds.code} {key}: {exc}") from exc
        extra = {"footer_rows_dropped": typed.footer_rows, "exact_duplicate_rows_dropped": typed.duplicates_dropped}
        if typed.unknown_headers:
            extra["unknown_headers"] = ", ".join(typed.unknown_headers)
        self._record(merged_key(ds), key, published.rows, adopted, parquet=self.store.uri(merged_parquet(ds, key)),
                     excel=self.store.uri(merged_excel(ds, key)),
                     rows_per_shop=dg.MetadataValue.json(typed.rows_per_shop), **extra)
        old_kept = [f"{KEPT_PREFIX}/{k}" for k in published.removed]
        self._record(ods_key(ds), key, published.rows, adopted, partition_path=published.uri.rsplit("/", 1)[0] + "/",
                     **({"old_objects_kept_at": dg.MetadataValue.json(old_kept)} if old_kept else {}))

    def _record(self, asset_key: dg.AssetKey, partition: str, rows: int, adopted: Adopted, **metadata) -> None:
        self.instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=asset_key, partition=partition,
            metadata={"dagster/row_count": rows, "rows": rows, "adopted": True, "adopted_from": adopted.origin,
                      "source_objects": dg.MetadataValue.json(adopted.sources), **metadata}))

    # ---- one shop file -----------------------------------------------------------

    def adopt_shop_file(self, ds: DatasetSpec, key: str, old: OldFile, shops: set[str], recorded: set[str]) -> None:
        shop = self.shop_id_of(ds.platform, old.shop)
        partition = raw_partition_key(key, shop)
        if str(partition) in recorded:
            self.report.already.append((f"{ds.platform}/{ds.code}", str(partition)))
            return
        if shop not in shops:
            self.report.refused.append(Refusal(str(old.path), f"shop {old.shop!r} (id {shop}) is not one of the "
                                                              f"{ds.platform} shops the instance knows"))
            return
        data = old.path.read_bytes()
        try:
            report = verify_report(data, ds, name=str(old.path))
        except CollectError as exc:
            self.report.refused.append(Refusal(str(old.path), str(exc)))
            return
        adopted = Adopted(f"{ds.platform}/{ds.code}", str(partition), ["raw"], "old shop file", report.rows,
                          [str(old.path)])
        self.report.adopted.append(adopted)
        if self.apply:
            target = raw_object(ds, key, shop, report.ext)
            self.store.put_bytes(target, data)
            self._record(raw_key(ds), str(partition), report.rows, adopted, object=target, bytes=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), source="old shop file")


def select(catalog: Catalog, platforms: list[str] | None, datasets: list[str] | None) -> list[DatasetSpec]:
    """The catalog's datasets, narrowed to `platforms` and `PLATFORM/DATASET` names."""
    chosen = catalog.datasets()
    if platforms:
        unknown = sorted(set(platforms) - set(catalog.platforms))
        if unknown:
            raise ValueError(f"unknown platforms {unknown}; known: {sorted(catalog.platforms)}")
        chosen = [ds for ds in chosen if ds.platform in platforms]
    if datasets:
        names = {f"{ds.platform}/{ds.code}": ds for ds in catalog.datasets()}
        unknown = [d for d in datasets if d not in names]
        if unknown:
            raise ValueError(f"unknown datasets {unknown}; use PLATFORM/DATASET, e.g. pdd/badscore")
        chosen = [ds for ds in chosen if f"{ds.platform}/{ds.code}" in datasets]
    return chosen


def shop_lookups(catalog: Catalog, shop_source) -> tuple[dict[str, dict[str, str]], Callable[[str, str], str]]:
    """({platform: {shop id: name}}, (platform, name) -> shop id) from the shop source:
    a name it does not know gets the catalog's id, else the id derived from the name."""
    from yd_platform.resources.shops import shop_id_for_name

    names = {p: shop_source.shop_names(catalog, p) for p in catalog.platforms}
    ids = {p: {n: i for i, n in by_id.items()} for p, by_id in names.items()}

    def shop_id_of(platform: str, name: str) -> str:
        return ids.get(platform, {}).get(name.strip()) or shop_id_for_name(catalog, platform, name)

    return names, shop_id_of


def adopt(catalog: Catalog, store, instance: dg.DagsterInstance, shop_source, *, apply: bool = False,
          platforms: list[str] | None = None, datasets: list[str] | None = None, old_files: Path | None = None,
          refresh: Callable | None = None, progress: Callable | None = None) -> AdoptionReport:
    """Adopt (or, without `apply`, only list) the old history; see the module docstring.
    `progress(phase, done, total, detail)` is called as the work goes on."""
    if old_files is not None and not Path(old_files).is_dir():
        raise ValueError(f"--old-files {old_files}: no such folder")
    names, shop_id_of = shop_lookups(catalog, shop_source)
    adoption = Adoption(catalog, store, instance, names, shop_id_of, apply=apply, refresh=refresh, progress=progress)
    return adoption.run(select(catalog, platforms, datasets), Path(old_files) if old_files else None)
