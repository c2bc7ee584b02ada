"""Benchmark of the merged stage against the read limit, measured in one run.

Prints side by side:
- the read limit: fastexcel (calamine in Rust, Arrow out) reading every shop file of the
  partition, bare (first sheet, header in row 1, no coercion, nothing written);
- the whole merge of the same files (find the header, coerce column-wise, check keys,
  drop footers and duplicates, write parquet + xlsx);
- rows/s, seconds and peak RSS of both, and the merge/read-limit time ratio (target <= 2x);
  with `--repeat N` both alternate N times and the best of each is shown.

The baseline must have done the same work: it has to read exactly the rows the merge
published, or the run stops with an error instead of printing a ratio.

    .venv/bin/python benchmarks/merge_excel.py                      # 50 shops x 100k rows
    .venv/bin/python benchmarks/merge_excel.py --shops 5 --rows 20000  # a quick run

One shop file is generated (demo rows of the dataset under its Chinese headers, written
with openpyxl as back-ends write them) and copied for every shop; each side runs in its
own child process so peak RSS is its own.
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
from yd_platform.datasets.layout import raw_object  # noqa: E402

PARTITION = "2025-10-01"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process) of `work()`."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = work()
    return result, time.perf_counter() - wall, _cpu_seconds() - cpu


def read_limit_child(root: str, dataset: str, catalog: str | None) -> dict:
    """fastexcel's bare read of every raw file of the partition (the merge's own input)."""
    import fastexcel

    from yd_platform.datasets.layout import raw_prefix

    ds = load_catalog(catalog).dataset(*dataset.split("/"))
    files = sorted(Path(root, raw_prefix(ds, PARTITION)).glob("*.xlsx"))
    rows, seconds, cpu = timed(lambda: sum(fastexcel.read_excel(str(p)).load_sheet(0).to_arrow().num_rows
                                           for p in files))
    return {"rows": rows, "files": len(files), "seconds": seconds, "cpu_seconds": cpu}


def merge_child(root: str, dataset: str, catalog: str | None) -> dict:
    import fastexcel  # noqa: F401 - imported before the clock starts, as in the read limit
    import pyarrow.dataset  # noqa: F401

    from yd_platform.merge.merger import merge_partition
    from yd_platform.resources.object_store import LocalObjectStore

    ds = load_catalog(catalog).dataset(*dataset.split("/"))
    outcome, seconds, cpu = timed(lambda: merge_partition(LocalObjectStore(root), ds, PARTITION))
    return {"rows": outcome.rows, "files": len(outcome.shops), "seconds": seconds, "cpu_seconds": cpu,
            "sheets": outcome.excel_sheets, "parquet_mib": outcome.parquet_bytes / 2**20,
            "excel_mib": outcome.excel_bytes / 2**20, "duplicates": outcome.duplicates_dropped,
            "footers": outcome.footer_rows_dropped}


CHILDREN = {"read-limit": read_limit_child, "merge": merge_child}


def run_child(kind: str, root: Path, dataset: str, catalog: str | None) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--root", str(root), "--dataset", dataset]
    child = subprocess.run(command + (["--catalog", catalog] if catalog else []),
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def generate(work: Path, dataset: str, catalog: str | None, shops: int, rows: int) -> Path:
    from yd_platform.demo.data import report_xlsx

    ds = load_catalog(catalog).dataset(*dataset.split("/"))
    template = work / f"template-{ds.slug}-{rows}.xlsx"
    if template.exists():  # a kept --workdir: same dataset and size, same file
        print(f"reusing {template}", flush=True)
    else:
        print(f"generating one {rows}-row {dataset} shop file ...", flush=True)
        start = time.perf_counter()
        template.write_bytes(report_xlsx(ds, "bench_shop", PARTITION, rows=rows))
        print(f"  {template.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - start:.1f}s", flush=True)
    objects = work / "objects"
    shutil.rmtree(objects, ignore_errors=True)
    for i in range(shops):
        target = objects / raw_object(ds, PARTITION, f"shop_{i:03d}", "xlsx")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
    return objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per shop file")
    parser.add_argument("--dataset", default="pdd/badscore", help="platform/dataset of the catalog")
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate read limit and merge this many times; the best of each is shown "
                             "(steadier figures on a busy machine)")
    parser.add_argument("--catalog", help="catalog file (default: the packaged platforms.yaml)")
    parser.add_argument("--workdir", help="keep the generated files here (default: a temp folder)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = CHILDREN[args.child](args.root, args.dataset, args.catalog)
        print(json.dumps({**figures, "peak_rss_mib": _peak_mib()}))
        return 0

    work = Path(args.workdir or tempfile.mkdtemp(prefix="yd-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        objects = generate(work, args.dataset, args.catalog, args.shops, args.rows)
        print(f"reading and merging {args.shops} shops x {args.rows} rows, each in a child process ...", flush=True)
        runs = [(run_child("read-limit", objects, args.dataset, args.catalog),
                 run_child("merge", objects, args.dataset, args.catalog)) for _ in range(args.repeat)]
        limit = min((r for r, _ in runs), key=lambda f: f["seconds"])
        merged = min((m for _, m in runs), key=lambda f: f["seconds"])
        published = merged["rows"] + merged["duplicates"] + merged["footers"]
        if (limit["rows"], limit["files"]) != (published, merged["files"]):
            print(f"baseline did different work: read {limit['rows']} rows from {limit['files']} files, the merge "
                  f"{published} rows from {merged['files']} files", file=sys.stderr)
            return 1

        print()
        print(f"{'what':<44} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'CPU s':>8} {'peak RSS':>10}")
        for label, fig in (("read limit: fastexcel bare read, all files", limit),
                           ("merge partition (parquet + xlsx)", merged)):
            print(f"{label:<44} {fig['rows']:>10} {fig['seconds']:>9.2f} {fig['rows'] / fig['seconds']:>10.0f} "
                  f"{fig['cpu_seconds']:>8.2f} {fig['peak_rss_mib']:>6.0f} MiB")
        ratio = merged["seconds"] / limit["seconds"]
        print()
        print(f"merge takes {ratio:.2f}x the read limit's time ({'within' if ratio <= 2 else 'OVER'} the 2x target), "
              f"{merged['cpu_seconds'] / limit['cpu_seconds']:.2f}x its CPU time (reading and writing overlap "
              f"in two threads); parquet {merged['parquet_mib']:.1f} MiB, xlsx {merged['excel_mib']:.1f} MiB "
              f"on {len(merged['sheets'])} sheet(s)")
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
