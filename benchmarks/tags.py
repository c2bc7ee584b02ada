"""User-tags benchmark: the one-pass engine vs a per-tag loop with merge, and the user_tags
UPSERT vs MariaDB `LOAD DATA LOCAL INFILE`.

    .venv/bin/python benchmarks/tags.py                      # 1M users x 10 tags, 100k upsert rows
    .venv/bin/python benchmarks/tags.py --users 10000000     # 10M users
    .venv/bin/python benchmarks/tags.py --users 50000 --upsert-rows 20000   # a quick run
    .venv/bin/python benchmarks/tags.py --skip-upsert        # Spark part only

The synthetic feature source is written to parquet first, then both engines read it, as
the asset reads its feature source. The per-tag loop is the old system's shape: one Spark
job per tag, then a union + group-by merge. Both must give the same result (checked).
MariaDB: 127.0.0.1:3306 root by default (--mysql-url); a scratch database is created and
dropped. Not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime
from functools import reduce
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = date(2025, 10, 10)


def leaf(field, operator, value, type_):
    return {"field": field, "operator": operator, "value": value, "type": type_}


def benchmark_tags():
    from yd_platform.tags.rules import TagRule

    return [
        TagRule(1, "adult", leaf("age", ">=", 30, "number")),
        TagRule(2, "big_spender", {"logic": "AND", "conditions": [
            leaf("amount", "between", [500, 5000], "number"), leaf("vip", "=", True, "boolean")]}),
        TagRule(3, "recent", leaf("last_login", "recent_days", 7, "date")),
        TagRule(4, "north", leaf("city", "in", ["beijing", "tianjin", "harbin"], "string")),
        TagRule(5, "app_user", leaf("channels", "contains", "app", "list")),
        TagRule(6, "chatty", {"logic": "OR", "conditions": [
            leaf("messages", ">", 40, "number"),
            {"logic": "AND", "conditions": [leaf("messages", ">", 20, "number"),
                                            leaf("city", "starts_with", "sh", "string")]}]}),
        TagRule(7, "not_young", {"logic": "NOT", "conditions": [leaf("age", "<", 25, "number")]}),
        TagRule(8, "no_city", leaf("city", "is_null", None, "string")),
        TagRule(9, "dormant", {"logic": "AND", "conditions": [
            leaf("last_login", "<", "2025-08-31", "date"), leaf("messages", "<=", 5, "number")]}),
        TagRule(10, "web_only", {"logic": "AND", "conditions": [
            leaf("channels", "contains", "web", "list"), leaf("channels", "not_in", ["app", "mini"], "list")]}),
    ]


def write_source(spark, users: int, path: str) -> None:
    from pyspark.sql import functions as F

    cities = F.array(*[F.lit(c) for c in ("beijing", "shanghai", "shenzhen", "harbin", "chengdu")])
    channels = F.array(F.array(F.lit("app")), F.array(F.lit("web")), F.array(F.lit("app"), F.lit("mini")),
                       F.array(F.lit("web"), F.lit("mini")))
    idx = F.col("id")
    (spark.range(users)
     .select(F.format_string("user_%09d", idx).alias("user_id"),
             F.when(idx % 17 == 0, None).otherwise((idx * 7919) % 60 + 18).alias("age"),
             ((idx * 104729) % 10000 / 1.0).alias("amount"),
             F.when(idx % 23 == 0, None).otherwise(F.element_at(cities, (idx % 5 + 1).cast("int"))).alias("city"),
             F.date_sub(F.lit(TODAY), (idx % 90).cast("int")).alias("last_login"),
             (idx % 10 == 0).alias("vip"),
             F.element_at(channels, (idx % 4 + 1).cast("int")).alias("channels"),
             ((idx * 31) % 60).alias("messages"))
     .write.mode("overwrite").parquet(path))


def per_tag_loop(source, tags):
    """One job per tag, then union + group-by: the shape the one-pass engine replaces."""
    from pyspark.sql import functions as F

    from yd_platform.tags.compile import rule_expression, source_types

    parts = []
    types = source_types(source)
    for tag in tags:
        part = (source.filter(rule_expression(tag.rule, TODAY, types))
                .select("user_id", F.lit(tag.tag_id).alias("tag_id")))
        part = part.persist()
        part.count()
        parts.append(part)
    merged = (reduce(lambda a, b: a.unionByName(b), parts)
              .groupBy("user_id").agg(F.array_sort(F.collect_set("tag_id")).alias("tag_ids")))
    table = merged.toArrow()
    result = dict(zip(table.column("user_id").to_pylist(), table.column("tag_ids").to_pylist(), strict=True))
    for part in parts:
        part.unpersist()
    return result


def spark_benchmark(users: int) -> None:
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.engine import collect_tags, tag_users
    from yd_platform.tags.spark import spark_session

    spark = spark_session(load_tags_config())
    tags = benchmark_tags()
    with tempfile.TemporaryDirectory(prefix="yd-tags-bench-") as tmp:
        path = str(Path(tmp, "features.parquet"))
        started = time.perf_counter()
        write_source(spark, users, path)
        print(f"feature source: {users:,} users written to parquet in {time.perf_counter() - started:.1f}s")
        source = spark.read.parquet(path)
        source.count()  # warm-up: file listing and JIT, shared by both runs

        started = time.perf_counter()
        one_pass = collect_tags(tag_users(source, tags, TODAY))
        one_pass_s = time.perf_counter() - started

        started = time.perf_counter()
        looped = per_tag_loop(source, tags)
        loop_s = time.perf_counter() - started

    if one_pass != looped:
        raise SystemExit("the two engines disagree: benchmark invalid")
    print(f"tags: {len(tags)}   tagged users: {len(one_pass):,}")
    print(f"one-pass engine : {one_pass_s:8.2f}s")
    print(f"per-tag loop    : {loop_s:8.2f}s")
    print(f"ratio loop/one-pass: {loop_s / one_pass_s:.2f}x")


def _rows(n: int, tag_ids: list[int]) -> dict[str, list[int]]:
    return {f"user_{i:09d}": tag_ids[: 1 + i % len(tag_ids)] for i in range(n)}


def upsert_benchmark(rows: int, server_url: str) -> None:
    import pymysql
    import sqlalchemy as sa

    from yd_platform.resources.app_db import engine_for
    from yd_platform.tags.store import ensure_tables, save_tag
    from yd_platform.tags.write import write_user_tags

    name = f"yd_bench_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(server_url)
    with server.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        engine = engine_for(f"{server_url}/{name}?charset=utf8mb4")
        ensure_tables(engine)
        for tag_id in range(1, 9):
            save_tag(engine, tag_id, f"tag {tag_id}", {"logic": "AND", "conditions": []})
        now = datetime(2025, 10, 10, 8, 0, 0)
        new = _rows(rows, list(range(1, 9)))

        started = time.perf_counter()
        summary = write_user_tags(engine, new, range(1, 9), now=now, batch_size=1000)
        insert_s = time.perf_counter() - started
        changed = {u: ids[:-1] or [8] for u, ids in new.items()}
        started = time.perf_counter()
        summary2 = write_user_tags(engine, changed, range(1, 9), now=datetime(2025, 10, 11), batch_size=1000)
        update_s = time.perf_counter() - started
        started = time.perf_counter()
        write_user_tags(engine, changed, range(1, 9), now=datetime(2025, 10, 12), batch_size=1000)
        rerun_s = time.perf_counter() - started
        print(f"upsert (insert {summary.inserted:,} rows): {insert_s:7.2f}s  {summary.inserted / insert_s:10,.0f} rows/s")
        print(f"upsert (update {summary2.updated:,} rows): {update_s:7.2f}s  {summary2.updated / update_s:10,.0f} rows/s")
        print(f"rerun, nothing changed ({rows:,} rows compared): {rerun_s:7.2f}s")
        engine.dispose()

        url = sa.make_url(server_url)
        conn = pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                               password=url.password or "", database=name, local_infile=True, charset="utf8mb4")
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE user_tags_load LIKE user_tags")
            with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False, newline="") as fh:
                writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
                stamp = now.strftime("%Y-%m-%d %H:%M:%S")
                for user, ids in new.items():
                    details = {str(t): {"tag_name": f"tag {t}"} for t in ids}
                    writer.writerow([user, json.dumps(ids), json.dumps(details), stamp, stamp])
                tsv = fh.name
            started = time.perf_counter()
            try:
                with conn.cursor() as cur:
                    cur.execute(f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE user_tags_load "
                                "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
                                "(user_id, tag_ids, tag_details, created_time, updated_time)")
                conn.commit()
            except pymysql.err.MySQLError as exc:
                print(f"LOAD DATA LOCAL INFILE refused by the server ({exc}); enable local_infile "
                      "on MariaDB (SET GLOBAL local_infile=1) to compare")
                return
            finally:
                os.unlink(tsv)
            load_s = time.perf_counter() - started
            print(f"LOAD DATA LOCAL INFILE ({rows:,} rows, plain load, no merge): {load_s:7.2f}s  "
                  f"{rows / load_s:10,.0f} rows/s")
            print(f"ratio upsert-insert/load-data: {insert_s / load_s:.2f}x")
        finally:
            conn.close()
    finally:
        with server.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="synthetic users (default 1M)")
    parser.add_argument("--upsert-rows", type=int, default=100_000, help="rows for the upsert benchmark")
    parser.add_argument("--mysql-url", default=os.environ.get("YD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306"),
                        help="MariaDB server URL without database name")
    parser.add_argument("--skip-upsert", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_spark:
        spark_benchmark(args.users)
    if not args.skip_upsert:
        upsert_benchmark(args.upsert_rows, args.mysql_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
