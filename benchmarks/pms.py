"""PMS services benchmark: all 37 services over demo data, each against its SLA.

    .venv/bin/python benchmarks/pms.py                       # 2,000 projects on SQLite
    .venv/bin/python benchmarks/pms.py --projects 500        # a quick run
    .venv/bin/python benchmarks/pms.py --mysql-url mysql+pymysql://root@127.0.0.1:3306

Each service runs at its own time of the benchmark day (hourly ones at 09:00), in the
order of `config/pms.yaml`, then the hourly ones a second time an hour later (the
de-duplicated steady state). Printed: the slowest services first, their duration next to
their SLA (the old scheduler's `max_execution_time_seconds`, the baseline) and the share
of it used. Outbox delivery is not part of the timing (no channel is configured). Not part
of CI.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = date(2026, 3, 10)


def scratch_engine(args):
    import sqlalchemy as sa

    if args.mysql_url:
        name = f"yd_bench_{uuid.uuid4().hex[:8]}"
        server = sa.create_engine(args.mysql_url)
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))

        def drop():
            with server.begin() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        return sa.create_engine(f"{args.mysql_url}/{name}?charset=utf8mb4"), drop
    folder = tempfile.mkdtemp(prefix="yd_pms_bench_")
    return sa.create_engine(f"sqlite:///{folder}/pms.db"), lambda: None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mysql-url", help="MariaDB server URL without database (a scratch database is used)")
    parser.add_argument("--top", type=int, default=37, help="how many of the slowest services to print")
    args = parser.parse_args()

    from yd_platform.pms.config import load_pms_config
    from yd_platform.pms.demo import fill_demo
    from yd_platform.pms.runner import run_service

    cfg = load_pms_config()
    engine, drop = scratch_engine(args)
    try:
        started = time.perf_counter()
        counts = fill_demo(engine, projects=args.projects, seed=args.seed, today=DAY)
        print(f"demo data: {sum(counts.values()):,} rows, {args.projects:,} projects, "
              f"{engine.dialect.name}, {time.perf_counter() - started:.1f} s")
        results = []
        for svc in cfg.services:
            minute, hour = svc.cron.split()[:2]
            now = datetime.combine(DAY, datetime.min.time()).replace(hour=9 if hour == "*" else int(hour), minute=int(minute))
            results.append(run_service(svc.id, engine, now=now, config=cfg))
        steady = {svc.id: run_service(svc.id, engine, now=datetime.combine(DAY, datetime.min.time()) + timedelta(hours=10),
                                      config=cfg)["duration_ms"] for svc in cfg.services if svc.hourly}
    finally:
        engine.dispose()
        drop()

    results.sort(key=lambda r: r["duration_ms"], reverse=True)
    print(f"\n{'service':<44} {'run ms':>9} {'SLA s':>6} {'of SLA':>7} {'2nd run ms':>10} {'alerts':>7} {'rows':>7}")
    for r in results[:args.top]:
        share = r["duration_ms"] / 1000 / r["sla_seconds"] * 100
        second = steady.get(r["job_id"])
        print(f"{r['job_id']:<44} {r['duration_ms']:>9.0f} {r['sla_seconds']:>6g} {share:>6.2f}% "
              f"{'' if second is None else f'{second:.0f}':>10} {r['alerts_created']:>7} {sum(r['rows_written'].values()):>7}")
    over = [r["job_id"] for r in results if r["sla_breached"]]
    total = sum(r["duration_ms"] for r in results) / 1000
    print(f"\nall 37: {total:.1f} s in total; over their SLA: {', '.join(over) if over else 'none'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
