"""`yd-platform sql`: query the ODS tables with the embedded DuckDB engine.

Reads the parquet on the configured object store (local folder or MinIO), so it works
on the embedded default and next to a production MinIO alike. Each dataset is there
twice: the typed table (`yd.warehouse.ods.pdd.pdd_badscore` or the short `pdd.badscore`)
and, under the old name (`minio.warehouse.ods.pdd.pdd_badscore`), the old-shape view
(`shop` and the report's headers, as text), so old queries run unchanged. Every table's
partition column is `dt` (text): the day, or for weekly and monthly tables first and
last day, `dt = '2025-09-01_2025-09-30'`.

Read-only: a SELECT (or EXPLAIN of one) over these tables and nothing else; no file,
URL or database outside them, no COPY, CREATE, INSERT, ATTACH, INSTALL, LOAD, SET or
PRAGMA.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, datetime

from yd_platform.catalog import Cadence, load_catalog
from yd_platform.cli.terminal import grid
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tables.duckdb_engine import DuckDBTables, QueryResult
from yd_platform.tables.old_shape import old_table_name, typed_table_name

DT_VALUES = {Cadence.daily: "dt = YYYY-MM-DD", Cadence.weekly: "dt = <first day>_<last day>",
             Cadence.monthly: "dt = YYYY-MM-01_YYYY-MM-<last day>"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sql", help="query the ODS tables, read-only (embedded DuckDB over the object store)")
    p.add_argument("query", nargs="?", help="SQL, e.g. \"select dt, count(*) from pdd.badscore group by dt\"")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per row")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    p.add_argument("--tables", action="store_true",
                   help="list the tables: typed name, short name, old-shape view, partition values")
    p.add_argument("--max-rows", type=int, default=200, help="rows shown in the table view (default 200)")
    p.add_argument("--catalog", help="catalog file (default: $YD_CATALOG or the packaged one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    if args.tables:
        rows = [(typed_table_name(ds), f"{ds.platform}.{ds.code}", old_table_name(ds), DT_VALUES[ds.cadence], ds.name)
                for ds in catalog.datasets() if ds.columns]
        columns = ["typed table", "short name", "old-shape view (shop + report headers, text)", "partition", "dataset"]
        print(render_table(QueryResult(columns, rows)))
        return 0
    if not args.query:
        print("yd-platform sql: give a query, or --tables to list the tables", file=sys.stderr)
        return 2
    tables = DuckDBTables.for_catalog(catalog, object_store_from_env().resolved())
    try:
        result = tables.query(args.query)
    finally:
        tables.close()
    if args.json:
        for row in result.rows:
            print(json.dumps(dict(zip(result.columns, row)), ensure_ascii=False, default=_plain))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_plain(v) if v is not None else "" for v in row] for row in result.rows])
    else:
        print(render_table(result, args.max_rows))
    return 0


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def render_table(result: QueryResult, max_rows: int | None = None) -> str:
    """A plain-text grid that lines up Chinese text (double-width characters) too."""
    shown = result.rows if max_rows is None else result.rows[:max_rows]
    cells = [["NULL" if v is None else str(_plain(v)) for v in row] for row in shown]
    more = len(result.rows) - len(shown)
    return "\n".join([grid(list(result.columns), cells), f"({len(result.rows)} rows"
                      f"{f', {more} not shown (use --csv/--json or --max-rows)' if more else ''})"])
