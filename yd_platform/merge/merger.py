"""Merge every shop's raw file of one period into one parquet file and one Excel file.

Files are read one at a time and appended to a pyarrow ParquetWriter and a write-only
workbook in a scratch folder; only when every file went in are both uploaded. A failed
merge therefore never replaces the previous good outputs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yd_platform.catalog import DatasetSpec
from yd_platform.catalog.periods import period_from_key
from yd_platform.datasets.layout import merged_excel, merged_parquet, quarantine_prefix, raw_prefix
from yd_platform.datasets.schema import excel_headers, merged_schema
from yd_platform.merge.errors import MergeError
from yd_platform.merge.excel import XLSX_MAX_ROWS, ExcelSink
from yd_platform.reports.errors import BadShopFile
from yd_platform.reports.shop_table import read_shop_table

ROW_NUMBER = "__row_number"


@dataclass
class Quarantined:
    shop: str
    source: str
    kept_at: str
    error: str


@dataclass
class MergeOutcome:
    partition: str
    rows: int = 0
    shops: list[str] = field(default_factory=list)
    rows_per_shop: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    footer_rows_dropped: int = 0
    unknown_headers: dict[str, list[str]] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    excel_key: str = ""
    parquet_key: str = ""
    excel_sheets: list[str] = field(default_factory=list)
    parquet_bytes: int = 0
    excel_bytes: int = 0


def shop_of(key: str) -> str:
    return key.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def exact_duplicates(table: pa.Table, keys: list[str] | None = None) -> np.ndarray:
    """Mask of rows identical in every column to an earlier row.

    Rows can only be identical where every key column is, so a table with one key
    column holding distinct values (the usual case) is settled by one hash pass.
    """
    n = table.num_rows
    if n < 2:
        return np.zeros(n, dtype=bool)
    for name in keys or []:  # one distinct key column makes every row distinct
        if pc.count_distinct(table.column(name), mode="all").as_py() == n:
            return np.zeros(n, dtype=bool)
    numbered = table.append_column(ROW_NUMBER, pa.array(np.arange(n, dtype=np.int64)))
    firsts = numbered.group_by(table.column_names, use_threads=False).aggregate([(ROW_NUMBER, "min")])
    duplicate = np.ones(n, dtype=bool)
    duplicate[firsts.column(f"{ROW_NUMBER}_min").to_numpy()] = False
    return duplicate


def drop_exact_duplicates(table: pa.Table, keys: list[str] | None = None) -> tuple[pa.Table, int]:
    """(table, dropped) without rows identical in every column to an earlier row.

    Back-ends repeat an export page now and then; such a row is the same record twice
    (same key, same values), so it goes. Rows that share a key but differ elsewhere stay:
    which one is right is not the merge's call, and the blocking `keys_unique` check
    stops the period naming the shop and key.
    """
    dupes = exact_duplicates(table, keys)
    count = int(dupes.sum())
    if not count:
        return table, 0
    return table.filter(pa.array(~dupes)), count


class OutputThread:
    """Writes each shop's table (parquet, then Excel) in one background thread while the
    next shop file is read: fastexcel, Arrow and zlib all release the GIL, so reading and
    writing overlap. At most one table waits; a write error surfaces on the next call."""

    def __init__(self, *sinks: Callable[[pa.Table], None]):
        self.sinks = sinks
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yd-merge-output")
        self.pending: Future | None = None

    def _write(self, table: pa.Table) -> None:
        for sink in self.sinks:
            sink(table)

    def write(self, table: pa.Table) -> None:
        if self.pending is not None:
            self.pending.result()
        self.pending = self.pool.submit(self._write, table)

    def finish(self, raise_error: bool = True) -> None:
        pending, self.pending = self.pending, None
        self.pool.shutdown(wait=True)
        if pending is not None and raise_error:
            pending.result()


def merge_partition(store, ds: DatasetSpec, key: str, *, quarantine: bool | None = None,
                    excel_max_rows: int = XLSX_MAX_ROWS, log=None) -> MergeOutcome:
    """Merge the partition `key`; raises MergeError (naming the bad file) when it cannot."""
    quarantine = ds.quarantine_bad_files if quarantine is None else quarantine
    period = period_from_key(ds.cadence, key)
    schema = merged_schema(ds)
    objects = [o for o in store.list(raw_prefix(ds, key)) if not o.key.rsplit("/", 1)[-1].startswith(".")]
    if not objects:
        raise MergeError(f"{ds.slug} {key}: no raw files under {raw_prefix(ds, key)}")
    keys = [c.name for c in ds.columns if c.key]
    outcome = MergeOutcome(key, excel_key=merged_excel(ds, key), parquet_key=merged_parquet(ds, key))
    with tempfile.TemporaryDirectory(prefix="yd-merge-") as scratch:
        parquet_path = Path(scratch, "merged.parquet")
        excel_path = Path(scratch, "merged.xlsx")
        writer = pq.ParquetWriter(parquet_path, schema)
        excel = ExcelSink(excel_path, ds.name, excel_headers(ds), excel_max_rows)
        output = OutputThread(writer.write_table, excel.append)
        finished = False
        try:
            for obj in objects:
                shop, name = shop_of(obj.key), obj.key.rsplit("/", 1)[-1]
                local = Path(scratch, f"raw-{name}")
                store.download(obj.key, local)
                try:
                    read = read_shop_table(ds, local, name, shop, period)
                except BadShopFile as exc:
                    if not quarantine:
                        raise MergeError(f"{ds.slug} {key}: {exc}") from exc
                    outcome.quarantined.append(_quarantine(store, ds, key, obj.key, local, exc))
                    if log:
                        log.warning(f"quarantined {obj.key}: {exc}")
                    continue
                finally:
                    local.unlink(missing_ok=True)
                table, dropped = drop_exact_duplicates(read.table, keys)
                outcome.footer_rows_dropped += read.footer_rows
                if read.unknown_headers:
                    outcome.unknown_headers[shop] = read.unknown_headers
                output.write(table)
                outcome.shops.append(shop)
                outcome.rows_per_shop[shop] = table.num_rows
                outcome.rows += table.num_rows
                outcome.duplicates_dropped += dropped
                del table, read
            output.finish()
            if not outcome.shops:
                raise MergeError(f"{ds.slug} {key}: every shop file is bad, nothing to merge: "
                                 + "; ".join(q.error for q in outcome.quarantined))
            excel.close()
            finished = True
        finally:
            output.finish(raise_error=False)
            writer.close()
            if not finished:
                excel.discard()
        outcome.excel_sheets = excel.sheets
        outcome.parquet_bytes = os.path.getsize(parquet_path)
        outcome.excel_bytes = os.path.getsize(excel_path)
        store.put_file(outcome.parquet_key, parquet_path)
        store.put_file(outcome.excel_key, excel_path)
    _drop_stale_quarantine(store, ds, key, {q.shop for q in outcome.quarantined})
    return outcome


def _drop_stale_quarantine(store, ds: DatasetSpec, key: str, still_bad: set[str]) -> None:
    """A shop whose file now merges no longer has a quarantined copy of this period."""
    stale = [o.key for o in store.list(quarantine_prefix(ds, key))
             if shop_of(o.key.removesuffix(".error.txt")) not in still_bad]
    store.delete(stale)


def _quarantine(store, ds: DatasetSpec, key: str, source: str, local: Path, exc: BadShopFile) -> Quarantined:
    """Keep a copy of the bad file and the reason under quarantine/; raw/ stays as collected."""
    name = source.rsplit("/", 1)[-1]
    target = f"{quarantine_prefix(ds, key)}/{name}"
    store.put_file(target, local)
    store.put_bytes(f"{target}.error.txt", f"{exc}\n".encode(), "text/plain; charset=utf-8")
    return Quarantined(shop_of(source), source, target, str(exc))
