"""Benchmark of the merged stage: reading shop reports and merging a whole partition.

Prints, side by side in one run:
- rows/s reading one shop file with python-calamine vs openpyxl (read-only mode);
- rows/s of the whole merge (read, map headers, coerce, dedupe, write parquet + Excel);
- peak RSS of the merge process (the goal: 50 shops x 100k rows under 2 GB).

    .venv/bin/python benchmarks/merge_excel.py                      # 50 shops x 100k rows
    .venv/bin/python benchmarks/merge_excel.py --shops 5 --rows 20000  # a quick run

One shop file is generated (demo rows of pdd/badscore, the back-end's Chinese headers)
and copied for every shop; the merge itself runs in a child process so its peak RSS is
not mixed with the generator's.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from yd_platform.catalog import load_catalog  # noqa: E402
from yd_platform.demo.data import report_xlsx  # noqa: E402
from yd_platform.pipeline.layout import raw_object  # noqa: E402

PLATFORM, DATASET, PARTITION = "pdd", "badscore", "2025-10-01"


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return sum(1 for _ in sheet.iter_rows()) - 1


def read_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    finally:
        book.close()


def timed(fn, *args) -> tuple[int, float]:
    start = time.perf_counter()
    rows = fn(*args)
    return rows, time.perf_counter() - start


def merge_child(root: str) -> None:
    """Run in the child process: merge the partition, print figures as JSON."""
    from yd_platform.merge.merger import merge_partition
    from yd_platform.resources.object_store import LocalObjectStore

    ds = load_catalog().dataset(PLATFORM, DATASET)
    start = time.perf_counter()
    outcome = merge_partition(LocalObjectStore(root), ds, PARTITION)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": outcome.rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024,
                      "sheets": outcome.excel_sheets, "parquet_mib": outcome.parquet_bytes / 2**20,
                      "excel_mib": outcome.excel_bytes / 2**20}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per shop file")
    parser.add_argument("--workdir", help="keep the generated files here (default: a temp folder)")
    parser.add_argument("--merge-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.merge_child:
        merge_child(args.merge_child)
        return 0

    ds = load_catalog().dataset(PLATFORM, DATASET)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="yd-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating one {args.rows}-row shop file ...", flush=True)
        start = time.perf_counter()
        template = work / "template.xlsx"
        template.write_bytes(report_xlsx(ds, "bench_shop", PARTITION, rows=args.rows))
        print(f"  {template.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - start:.1f}s", flush=True)
        for i in range(args.shops):
            target = work / "objects" / raw_object(ds, PARTITION, f"shop_{i:03d}", "xlsx")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, target)

        cal_rows, cal_s = timed(read_calamine, template)
        opx_rows, opx_s = timed(read_openpyxl, template)
        print(f"merging {args.shops} shops x {args.rows} rows in a child process ...", flush=True)
        child = subprocess.run([sys.executable, __file__, "--merge-child", str(work / "objects")],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        merged = json.loads(child.stdout.strip().splitlines()[-1])

        print()
        print(f"{'what':<34} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'peak RSS':>10}")
        for label, rows, seconds in (("read one file: python-calamine", cal_rows, cal_s),
                                     ("read one file: openpyxl read-only", opx_rows, opx_s)):
            print(f"{label:<34} {rows:>10} {seconds:>9.2f} {rows / seconds:>10.0f}")
        print(f"{'merge partition (parquet + xlsx)':<34} {merged['rows']:>10} {merged['seconds']:>9.2f} "
              f"{merged['rows'] / merged['seconds']:>10.0f} {merged['peak_rss_mib']:>7.0f} MiB")
        print()
        print(f"calamine reads {cal_s and opx_s / cal_s:.1f}x faster than openpyxl; "
              f"parquet {merged['parquet_mib']:.1f} MiB, xlsx {merged['excel_mib']:.1f} MiB "
              f"on {len(merged['sheets'])} sheet(s) {merged['sheets']}")
        goal = "under" if merged["peak_rss_mib"] < 2048 else "OVER"
        print(f"peak RSS of the merge: {merged['peak_rss_mib']:.0f} MiB ({goal} the 2 GB goal)")
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
