"""The generated data checks as plain functions over a pyarrow table.

Each returns an `Outcome`; `failing_count` is the figure notifications quote, and a
small sample of offending values goes along for the person who opens the alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.schema import LEADING_COLUMNS, TRAILING_COLUMNS

SAMPLE_SIZE = 5
# Columns the merge stage adds in front of / after the report's own columns.
MERGE_COLUMNS = tuple(name for name, _ in (*LEADING_COLUMNS, *TRAILING_COLUMNS))
TRUE_FALSE = {"true", "false", "1", "0", "yes", "no", "是", "否", "y", "n"}


@dataclass(frozen=True)
class Outcome:
    passed: bool
    description: str
    failing_count: int = 0
    metadata: dict[str, object] = field(default_factory=dict)

    def all_metadata(self) -> dict[str, object]:
        return {"failing_count": self.failing_count, **self.metadata}


def _blank_to_null(series: pd.Series) -> pd.Series:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return series.where(series.astype("string").str.strip() != "", None)
    return series


def row_count(table: pa.Table | None) -> Outcome:
    rows = 0 if table is None else table.num_rows
    if table is None:
        return Outcome(False, "no data file for this partition", 1, {"rows": 0})
    return Outcome(rows > 0, f"{rows} rows", 0 if rows else 1, {"rows": rows})


def shops_present(table: pa.Table | None, active_shops: list[str]) -> Outcome:
    seen = set()
    if table is not None and "shop_id" in table.column_names:
        seen = {s for s in table.column("shop_id").to_pylist() if s}
    missing = sorted(set(active_shops) - seen)
    return Outcome(
        not missing,
        f"missing shops: {', '.join(missing)}" if missing else f"all {len(active_shops)} active shops present",
        len(missing),
        {"active_shops": len(active_shops), "missing_shops": ", ".join(missing) or "-"},
    )


def _bad_values(series: pd.Series, kind: str) -> pd.Series:
    """Non-null values that cannot be read as the declared type."""
    values = _blank_to_null(series).dropna()
    if values.empty or kind == "string":
        return values.iloc[0:0]
    if kind in ("int", "float") and pd.api.types.is_numeric_dtype(values):
        return values[values != values.round()] if kind == "int" and pd.api.types.is_float_dtype(values) else values.iloc[0:0]
    if kind in ("int", "float"):
        numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
        bad = numbers.isna()
        if kind == "int":
            bad |= numbers.notna() & (numbers != numbers.round())
        return values[bad]
    if kind in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(values):
            return values.iloc[0:0]
        parsed = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
        return values[parsed.isna()]
    if kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.iloc[0:0]
        return values[~values.astype("string").str.strip().str.lower().isin(TRUE_FALSE)]
    raise ValueError(f"unknown column type {kind!r}")


def schema_matches(table: pa.Table | None, ds: DatasetSpec) -> Outcome:
    """Every declared column is there, required ones are filled, values fit the type."""
    if table is None:
        return Outcome(False, "no data file for this partition", 1)
    names = set(table.column_names)
    problems: list[str] = []
    failing = 0
    missing = [c.name for c in ds.columns if c.name not in names]
    if missing:
        problems.append(f"missing columns {missing}")
        failing += len(missing)
    frame = table.select([c.name for c in ds.columns if c.name in names]).to_pandas()
    for col in ds.columns:
        if col.name not in names:
            continue
        series = frame[col.name]
        if col.required:
            nulls = int(_blank_to_null(series).isna().sum())
            if nulls:
                problems.append(f"{col.name}: {nulls} empty values in a required column")
                failing += nulls
        bad = _bad_values(series, col.type)
        if len(bad):
            sample = ", ".join(repr(v) for v in bad.head(SAMPLE_SIZE).tolist())
            problems.append(f"{col.name}: {len(bad)} values are not {col.type} (e.g. {sample})")
            failing += len(bad)
    extra = sorted(names - {c.name for c in ds.columns} - set(MERGE_COLUMNS))
    meta: dict[str, object] = {"undeclared_columns": ", ".join(extra) or "-"}
    if problems:
        meta["problems"] = "\n".join(problems)
    return Outcome(not problems, "; ".join(problems) or "schema matches the catalog", failing, meta)


def key_columns(ds: DatasetSpec, table: pa.Table) -> list[str]:
    """The declared key, per shop: the same review id in two shops is two rows."""
    keys = [c.name for c in ds.columns if c.key]
    if keys and "shop_id" in table.column_names:
        keys = ["shop_id", *keys]
    return keys


def keys_unique(table: pa.Table | None, ds: DatasetSpec) -> Outcome:
    if table is None:
        return Outcome(False, "no data file for this partition", 1)
    keys = key_columns(ds, table)
    if not keys:
        return Outcome(True, "no key columns declared")
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        return Outcome(False, f"key columns {missing} are missing", len(missing))
    frame = table.select(keys).to_pandas()
    dupes = frame[frame.duplicated(keys, keep=False)]
    groups = dupes.drop_duplicates(keys)
    sample = "; ".join("/".join(str(v) for v in row) for row in groups.head(SAMPLE_SIZE).itertuples(index=False))
    return Outcome(
        dupes.empty,
        f"{len(groups)} duplicate keys over {len(dupes)} rows on ({', '.join(keys)})" if len(dupes) else "keys unique",
        len(groups),
        {"key": ", ".join(keys), "duplicate_rows": len(dupes), "sample": sample or "-"},
    )


def volume_normal(rows: int, previous: list[int], tolerance_pct: float) -> Outcome:
    """Rows versus the mean of the trailing partitions that exist."""
    if not previous:
        return Outcome(True, "no earlier partitions to compare with", 0, {"rows": rows})
    baseline = sum(previous) / len(previous)
    change = 0.0 if baseline == 0 and rows == 0 else (100.0 if baseline == 0 else (rows - baseline) / baseline * 100)
    ok = abs(change) <= tolerance_pct
    meta = {"rows": rows, "baseline_rows": round(baseline, 2), "change_pct": round(change, 1),
            "tolerance_pct": tolerance_pct, "compared_partitions": len(previous)}
    return Outcome(ok, f"{rows} rows vs {baseline:.1f} average of {len(previous)} earlier partitions "
                   f"({change:+.1f}%, tolerance ±{tolerance_pct:g}%)", 0 if ok else abs(rows - round(baseline)), meta)
