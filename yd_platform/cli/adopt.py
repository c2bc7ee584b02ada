"""`yd-platform adopt`: record the old system's history as the platform's materialized
partitions, without downloading it again (see `yd_platform.cutover.adopt`).

A dry run by default: it reads everything and lists, per dataset and partition, what it
would record and from which objects, with row counts, and what it cannot adopt and why.
`--apply` writes the typed partitions and records them in the instance of DAGSTER_HOME.
Progress (the scan, then each dataset's periods) goes to stderr as it happens.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("adopt", help="record the old system's history as materialized partitions (dry run "
                                          "unless --apply)")
    parser.add_argument("--apply", action="store_true",
                        help="write the typed partitions and record them (default: only list)")
    parser.add_argument("--platforms", nargs="+", metavar="PLATFORM", help="only these platforms' datasets")
    parser.add_argument("--dataset", "--datasets", dest="datasets", nargs="+", metavar="PLATFORM/DATASET",
                        help="only these datasets, e.g. pdd/badscore")
    parser.add_argument("--old-files", type=Path, metavar="DIR",
                        help="copies of the old machines' folders (pdd/, tm/, jd/, erp/) with merged workbooks "
                             "and shop files")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=adopt_cmd)


def adopt_cmd(args: argparse.Namespace) -> int:
    from yd_platform.catalog import load_catalog
    from yd_platform.cli.instance_home import open_instance
    from yd_platform.cli.terminal import Progress
    from yd_platform.cutover.adopt import adopt
    from yd_platform.resources.object_store import object_store_from_env
    from yd_platform.resources.shops import shop_source_from_env
    from yd_platform.resources.table_engine import table_engine_from_env
    from yd_platform.tables.refresh import refresh_table

    catalog = load_catalog()
    store_resource = object_store_from_env().resolved()
    engine = table_engine_from_env()

    def refresh(ds, written: dict[str, int]) -> None:
        refresh_table(engine, ds, written, store_resource)

    with open_instance() as instance, Progress() as progress:
        report = adopt(catalog, store_resource.client(), instance, shop_source_from_env(), apply=args.apply,
                       platforms=args.platforms, datasets=args.datasets, old_files=args.old_files, refresh=refresh,
                       progress=progress)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print(report.render())
    return 0
