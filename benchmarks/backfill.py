"""Benchmark of batched raw backfills on a real instance, next to one run per partition.

It starts the embedded default as an operator does (`yd-platform up --skip-run`: the demo
merchant portal, the Dagster webserver and daemon) on a scratch YD_HOME, with a catalog
generated from the shipped one whose pdd platform has `--shops` shops (`--shops-per-account`
of them on one merchant account; the shipped catalog is not touched, `YD_CATALOG` names
the generated file). The automation sensor is stopped first, so only downloads run.

Then, in one run of this script, side by side:

- the earlier way, one run per partition: `--baseline-shops` shops of one date, each its
  own run of the collect job (launched over GraphQL, as a backfill without batching did);
- batched, the same number of shops of another date, as a UI backfill
  (`launchPartitionBackfill` over the raw asset's partitions);
- batched, the whole backfill: `--dates` dates x `--shops` shops.

For each: wall time, runs started, the collector's own step time (the sum of the
per-partition `seconds` of the materializations), the seconds of overhead per partition
next to the step time per partition, and peak memory (RSS summed over the whole process
tree of `up`, Chromium included). The allowed parallelism P is the platform's
`max_concurrent_runs` (its pool), bounded by the accounts and the instance's run limit;
overhead per partition = (wall x P - sum of step times) / partitions. Targets: overhead
at most 0.5x the step time per partition; the whole backfill within 2x (sum of step
times) / P.

    nice -n 10 .venv/bin/python benchmarks/backfill.py                     # 30 dates x 50 shops
    nice -n 10 .venv/bin/python benchmarks/backfill.py --dates 3 --shops 10 --baseline-shops 4   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import yaml  # noqa: E402

LOCATION, REPOSITORY = "yd_platform", "__repository__"
PLATFORM, DATASET = "pdd", "kpi_days"
FIRST_DATE = date(2025, 9, 1)
FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
CLEARED = ("YD_OBJECT_STORE", "YD_TABLE_ENGINE", "YD_APP_DB_URL", "YD_SHOPS_SOURCE", "YD_CATALOG",
           "YD_PORTAL_URL", "YD_PORTAL_DEMO", "DAGSTER_HOME", "YD_WAREHOUSE_URL")

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}"""
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } } }"""
LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}"""
SENSOR = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) { __typename ... on Sensor { jobOriginId sensorState { selectorId } } }
}"""
STOP_SENSOR = """
mutation($origin: String, $selector: String) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) { __typename }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_catalog(path: Path, shops: int, per_account: int, per_minute: int) -> list[str]:
    """The shipped catalog with `shops` pdd shops; returns the shop ids (sorted, so the
    shops of one account are neighbours in the partitions)."""
    raw = yaml.safe_load((ROOT / "yd_platform" / "config" / "platforms.yaml").read_text(encoding="utf-8"))
    pdd = raw["platforms"][PLATFORM]
    pdd["shops"] = [{"id": f"pdd_bench_{i:03d}", "name": f"店铺{i:03d}", "account": f"pdd_bench_acc_{i // per_account:03d}"}
                    for i in range(shops)]
    if per_minute:
        pdd["requests_per_minute"] = per_minute
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [s["id"] for s in pdd["shops"]]


class Platform:
    """`yd-platform up --skip-run` on a scratch home, and what the benchmark asks of it."""

    def __init__(self, root: Path, catalog: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        self.env.update(YD_HOME=str(root / "yd_home"), DAGSTER_HOME=str(root / "dagster_home"),
                        YD_CATALOG=str(catalog), PYTHONUNBUFFERED="1", SPARK_LOCAL_IP="127.0.0.1")
        self.log = root / "up.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "yd_platform.cli.main", "up", "--skip-run", "--port", str(self.port),
             "--api-port", "0", "--startup-timeout", "1200"],
            cwd=ROOT, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.portal = self._wait_for_line(r"demo merchant portal on (\S+)")
        self._wait_for_line(r"Dagster UI on (\S+)")

    def _wait_for_line(self, pattern: str, timeout: float = 1800) -> str:
        """The first group of the first line of `up`'s console that matches `pattern`
        (case aside), once it says it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"), re.IGNORECASE)
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(1)
        raise SystemExit(f"`yd-platform up` did not say {pattern!r}:\n{self.log.read_text(errors='replace')[-4000:]}")

    def graphql(self, query: str, variables: dict) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as resp:
            answer = json.load(resp)
        if answer.get("errors"):
            raise SystemExit(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def stop_sensor(self, name: str) -> None:
        selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": name}
        sensor = self.graphql(SENSOR, {"selector": selector})["sensorOrError"]
        self.graphql(STOP_SENSOR, {"origin": sensor["jobOriginId"], "selector": sensor["sensorState"]["selectorId"]})

    def launch_backfill(self, partitions: list[str]) -> str:
        answer = self.graphql(LAUNCH_BACKFILL, {"params": {
            "partitionNames": partitions, "assetSelection": [{"path": [PLATFORM, DATASET, f"{DATASET}_raw"]}]}})
        launched = answer["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise SystemExit(f"backfill not launched: {launched}")
        return launched["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        return self.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]

    def launch_run(self, partition: str) -> str:
        answer = self.graphql(LAUNCH_RUN, {"params": {
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                         "pipelineName": f"{PLATFORM}__{DATASET}__collect"},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}})
        launched = answer["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise SystemExit(f"run not launched: {launched}")
        return launched["run"]["runId"]

    def portal_stats(self) -> dict:
        with urllib.request.urlopen(f"{self.portal}/_admin/stats", timeout=120) as resp:
            return json.load(resp)

    def tree_rss(self) -> int:
        try:
            procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class PeakRss:
    """Samples the process tree's RSS every second; `peak` since the last `reset`."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.peak = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.peak = max(self.peak, self.platform.tree_rss())

    def reset(self) -> None:
        self.peak = self.platform.tree_rss()

    def close(self) -> None:
        self._stop.set()


def measure(platform: Platform, peak: PeakRss, name: str, partitions: list[str], mode) -> dict:
    """Launch, wait until done, and read what the instance recorded."""
    import dagster as dg

    from yd_platform.catalog import load_catalog
    from yd_platform.datasets.keys import raw_key

    ds = load_catalog(platform.env["YD_CATALOG"]).dataset(PLATFORM, DATASET)
    launch, done, runs_of = mode
    requests_before = len(platform.portal_stats()["requests"])
    peak.reset()
    started = time.time()
    handle = launch()
    while not done(handle):
        time.sleep(2)
    wall = time.time() - started
    with dg.DagsterInstance.from_config(platform.env["DAGSTER_HOME"]) as instance:
        records = []
        for chunk in range(0, len(partitions), 500):
            records += instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=raw_key(ds), asset_partitions=partitions[chunk:chunk + 500],
                after_timestamp=started), limit=10_000).records
        runs = runs_of(instance, handle)
    seconds = [r.asset_materialization.metadata["seconds"].value for r in records]
    return {"name": name, "partitions": len(partitions), "stored": len({r.partition_key for r in records}),
            "wall": wall, "runs": runs, "steps": sum(seconds), "peak_rss": peak.peak,
            "requests": len(platform.portal_stats()["requests"]) - requests_before}


def as_backfill(platform: Platform, partitions: list[str]):
    """A UI backfill of the partitions: (launch, done, runs started)."""
    import dagster as dg

    def runs(instance, backfill_id: str) -> int:
        return len(instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id})))

    return (lambda: platform.launch_backfill(partitions),
            lambda backfill_id: platform.backfill_status(backfill_id) in FINISHED_BACKFILL, runs)


def one_run_each(platform: Platform, partitions: list[str]):
    """One run of the collect job per partition: (launch, done, runs started)."""
    import dagster as dg

    def done(run_ids: list[str]) -> bool:
        with dg.DagsterInstance.from_config(platform.env["DAGSTER_HOME"]) as instance:
            return all(instance.get_run_by_id(r).is_finished for r in run_ids)

    return (lambda: [platform.launch_run(p) for p in partitions], done, lambda instance, run_ids: len(run_ids))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dates", type=int, default=30, help="dates of the batched backfill (default 30)")
    parser.add_argument("--shops", type=int, default=50, help="pdd shops in the generated catalog (default 50)")
    parser.add_argument("--shops-per-account", type=int, default=2,
                        help="shops that share one merchant account (default 2)")
    parser.add_argument("--baseline-shops", type=int, default=10,
                        help="shops of one date collected one run per partition, and batched (default 10)")
    parser.add_argument("--requests-per-minute", type=int, default=600,
                        help="pdd's pace for the run (default 600, so the figures show the platform's own "
                             "overhead; 0 keeps the shipped catalog's)")
    parser.add_argument("--home", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    if args.baseline_shops > args.shops or args.dates < 1:
        parser.error("--baseline-shops must be at most --shops, --dates at least 1")

    root = args.home or Path(tempfile.mkdtemp(prefix="yd-backfill-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    catalog_path = root / "platforms.yaml"
    shops = write_catalog(catalog_path, args.shops, args.shops_per_account, args.requests_per_minute)
    os.environ["YD_CATALOG"] = str(catalog_path)
    from yd_platform.catalog import load_catalog

    pdd = load_catalog(catalog_path).platforms[PLATFORM]
    accounts = len({s.login_account for s in pdd.shops})
    parallel = min(pdd.max_concurrent_runs, accounts, 4)
    print(f"starting `yd-platform up --skip-run` in {root} ({args.shops} pdd shops on {accounts} accounts, "
          f"pace {pdd.requests_per_minute}/min, max_concurrent_runs {pdd.max_concurrent_runs}) ...", flush=True)
    platform = Platform(root, catalog_path)
    peak = PeakRss(platform)
    try:
        platform.stop_sensor("yd_automation")
        sample = shops[:args.baseline_shops]
        batched_day = FIRST_DATE
        old_day = FIRST_DATE + timedelta(days=1)
        month = [FIRST_DATE + timedelta(days=2 + i) for i in range(args.dates)]

        results = []
        small_batched = [f"{batched_day}|{s}" for s in sample]
        print(f"batched, 1 date x {len(sample)} shops ...", flush=True)
        results.append(measure(platform, peak, f"batched 1x{len(sample)}", small_batched, as_backfill(platform, small_batched)))
        small_old = [f"{old_day}|{s}" for s in sample]
        print(f"one run per partition, 1 date x {len(sample)} shops ...", flush=True)
        results.append(measure(platform, peak, f"run each 1x{len(sample)}", small_old, one_run_each(platform, small_old)))
        whole = [f"{d}|{s}" for d in month for s in shops]
        print(f"batched, {args.dates} dates x {args.shops} shops ...", flush=True)
        results.append(measure(platform, peak, f"batched {args.dates}x{args.shops}", whole, as_backfill(platform, whole)))
    finally:
        peak.close()
        platform.stop()
    report(results, parallel, pdd.requests_per_minute)
    return 0


def report(results: list[dict], parallel: int, per_minute: int) -> None:
    print(f"\nallowed parallelism P = {parallel} (pdd's pool); pace {per_minute} requests/min")
    header = ("", *[r["name"] for r in results])
    rows = [
        ("partitions stored / asked", *[f"{r['stored']} / {r['partitions']}" for r in results]),
        ("wall time", *[f"{r['wall']:.1f} s" for r in results]),
        ("runs started", *[str(r["runs"]) for r in results]),
        ("sum of step times", *[f"{r['steps']:.1f} s" for r in results]),
        ("step time per partition", *[f"{r['steps'] / max(r['stored'], 1):.2f} s" for r in results]),
        ("overhead per partition", *[f"{(r['wall'] * parallel - r['steps']) / max(r['stored'], 1):.2f} s"
                                     for r in results]),
        ("overhead / step time", *[f"{(r['wall'] * parallel - r['steps']) / max(r['steps'], 1e-9):.2f}x"
                                   for r in results]),
        ("wall / (step sum / P)", *[f"{r['wall'] / max(r['steps'] / parallel, 1e-9):.2f}x" for r in results]),
        ("requests to the back-end", *[str(r["requests"]) for r in results]),
        ("pace bound (requests / pace)", *[f"{r['requests'] / per_minute * 60:.1f} s" if per_minute else "-"
                                            for r in results]),
        ("peak RSS, whole tree", *[f"{r['peak_rss'] / 2**20:.0f} MiB" for r in results]),
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    whole = results[-1]
    overhead = (whole["wall"] * parallel - whole["steps"]) / max(whole["steps"], 1e-9)
    within = whole["wall"] / max(whole["steps"] / parallel, 1e-9)
    print(f"\ntargets ({whole['name']}): overhead per partition <= 0.5x step time: {overhead:.2f}x "
          f"{'met' if overhead <= 0.5 else 'NOT met'}; whole backfill <= 2x step sum / P: {within:.2f}x "
          f"{'met' if within <= 2 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
