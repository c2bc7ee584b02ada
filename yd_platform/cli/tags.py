"""`yd-platform tags`: list the tags with their rules, or try rules on a file of users.

`tags try` uses the same validator and one-pass engine as the `user_tags` asset, so a
rule that works here works in production (given the same feature names).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from yd_platform.cli.terminal import Progress, column_widths, columns
from yd_platform.resources.app_db import app_db_from_env

NO_TAGS = ("no active tags yet: `yd-platform tags seed` loads the shipped ones (tags.yaml `seed:`; "
           "`yd-platform up` does it on the embedded default), the tag page /tags/admin of `yd-platform api` "
           "adds more")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tags", help="user tags: list tags and rules, try rules on sample users")
    tsub = p.add_subparsers(dest="tags_command", required=True)

    lp = tsub.add_parser("list", help="the tags in the app database with their rules")
    lp.add_argument("--json", action="store_true", help="one JSON object per tag")
    lp.set_defaults(func=run_list)

    tp = tsub.add_parser("try", help="validate rules and evaluate them on a CSV/parquet file of users")
    tp.add_argument("--rules", required=True, type=Path,
                    help='JSON list of {"tag_id", "tag_name", "rule"}')
    tp.add_argument("--input", required=True, type=Path,
                    help="users with a user_id column and the rule fields (.csv with header, or .parquet)")
    tp.add_argument("--today", type=date.fromisoformat, default=None,
                    help="YYYY-MM-DD used by recent_days (default: today in the tags.yaml timezone)")
    tp.set_defaults(func=run_try)

    sp = tsub.add_parser("seed", help="load the shipped tags (tags.yaml seed) into the tag tables",
                         description="Inserts the categories and tags of tags.yaml's `seed:` never seeded before; "
                                     "a tag already there is kept as it is.")
    sp.set_defaults(func=run_seed)

    dp = tsub.add_parser("demo-data", help="fill the feature tables of the warehouse with demo users")
    dp.add_argument("--users", type=int, default=1000, help="number of users (default 1000)")
    dp.add_argument("--seed", type=int, default=42, help="random seed: same seed, same rows (default 42)")
    dp.add_argument("--today", type=date.fromisoformat, default=None,
                    help="YYYY-MM-DD the dates are relative to (default: today in the tags.yaml timezone)")
    dp.set_defaults(func=run_demo_data)


def run_list(args: argparse.Namespace) -> int:
    from yd_platform.catalog import load_catalog
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.features.config import feature_schema
    from yd_platform.tags.rules.validate import check_rule
    from yd_platform.tags.tables import load_tags

    catalog = load_catalog()
    schema = feature_schema(load_tags_config(catalog=catalog).source, catalog)
    tags = load_tags(app_db_from_env().engine())
    if not tags:
        print(NO_TAGS, file=sys.stderr)
    problems = {tag.tag_id: [str(p) for p in check_rule(tag.tag_id, tag.rule, schema)] for tag in tags}
    if args.json:
        for tag in tags:
            print(json.dumps({"tag_id": tag.tag_id, "tag_name": tag.tag_name, "category": tag.category,
                              "rule": tag.rule, "problems": problems[tag.tag_id]}, ensure_ascii=False, default=str))
        return 0
    rows = [[tag.tag_id, tag.tag_name, f"[{tag.category or '-'}]",
             "ok" if not problems[tag.tag_id] else f"INVALID ({len(problems[tag.tag_id])} problems)"] for tag in tags]
    widths = [max(w, least) for w, least in zip(column_widths(rows), (5, 0, 0, 0))]
    for tag, line in zip(tags, columns(rows, align=">", widths=widths)):
        print(line)
        print(f"       {json.dumps(tag.rule, ensure_ascii=False, default=str)}")
        for problem in problems[tag.tag_id]:
            print(f"       {problem}")
    return 0


def _read_input(spark, path: Path):
    if not path.exists():
        raise FileNotFoundError(f"--input {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return spark.read.option("header", True).option("inferSchema", True).csv(str(path))
    if suffix == ".parquet":
        return spark.read.parquet(str(path))
    raise ValueError(f"--input {path}: expected a .csv or .parquet file")


def run_try(args: argparse.Namespace) -> int:
    from yd_platform.tags.rules.validate import (
        load_json,
        tags_from_file_entries,
        validate_tags,
    )

    try:
        entries = load_json(args.rules.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"--rules {args.rules}: cannot read a JSON list of rules: {exc}", file=sys.stderr)
        return 2
    tags, problems = tags_from_file_entries(entries, str(args.rules))

    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.rules.compile import schema_kinds
    from yd_platform.tags.rules.evaluate import USER_COLUMN, collect_tags, tag_users
    from yd_platform.tags.spark_session import spark_session

    cfg = load_tags_config()
    spark = spark_session(cfg.spark)
    users = _read_input(spark, args.input)
    if USER_COLUMN not in users.columns:
        print(f"--input {args.input}: no {USER_COLUMN} column (columns: {', '.join(users.columns)})",
              file=sys.stderr)
        return 2
    validation = validate_tags(tags, schema_kinds(users))
    problems += validation.problems
    today = args.today or datetime.now(ZoneInfo(cfg.timezone)).date()
    tagged = tag_users(users, validation.valid, today, problems=problems)
    for problem in problems:
        print(str(problem), file=sys.stderr)
    result = collect_tags(tagged)
    for user in sorted(result):
        print(json.dumps({"user_id": user, "tag_ids": result[user]}, ensure_ascii=False))
    return 2 if problems else 0


def run_seed(args: argparse.Namespace) -> int:
    from yd_platform.catalog import load_catalog
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.seed.shipped import apply_seed

    cfg = load_tags_config(catalog=load_catalog())
    print(apply_seed(app_db_from_env().engine(), cfg.seed).summary())
    return 0


def run_demo_data(args: argparse.Namespace) -> int:
    """Write the demo feature tables; the next `dw` collection publishes them as ODS."""
    from yd_platform.catalog import load_catalog
    from yd_platform.resources.warehouse_db import warehouse_url
    from yd_platform.tags.config import load_tags_config
    from yd_platform.tags.seed.demo_data import DemoDataError, write_demo_data

    catalog = load_catalog()
    today = args.today or datetime.now(ZoneInfo(load_tags_config(catalog=catalog).timezone)).date()
    try:
        with Progress() as progress:
            written = write_demo_data(warehouse_url(), catalog, args.users, args.seed, today, progress=progress)
    except DemoDataError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for name, count in written.rows.items():
        print(f"{name}: {count} rows")
    print(f"written to {written.url} for {today}; `yd-platform run --date {today} --datasets dw/user_basic_info "
          "dw/user_asset_summary dw/user_activity_summary` publishes them")
    return 0
