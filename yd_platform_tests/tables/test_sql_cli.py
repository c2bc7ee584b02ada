"""`yd-platform sql` on the embedded default."""

import json

from yd_platform.cli.main import main
from yd_platform.resources.object_store import object_store_from_env
from yd_platform_tests.dataset_assets import local_resources, publish
from yd_platform_tests.object_files import put_raw, review_rows, xlsx


def _publish_two_days(yd_home, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    root = yd_home / "objects"
    store = object_store_from_env().client()
    for day, n in (("2025-10-01", 2), ("2025-10-02", 3)):
        put_raw(store, ds, day, "pdd_flagship", xlsx(review_rows(f"{day}-", n)))
        assert publish(ds, day, local_resources(root), instance).success


def test_sql_table_json_csv(yd_home, catalog, instance, capsys):
    _publish_two_days(yd_home, catalog, instance)
    sql = "select dt, count(*) as n from minio.warehouse.ods.pdd.pdd_badscore group by dt order by dt"

    assert main(["sql", sql]) == 0
    out = capsys.readouterr().out
    assert "| dt         | n |" in out and "| 2025-10-02 | 3 |" in out and "(2 rows)" in out

    assert main(["sql", sql, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [{"dt": "2025-10-01", "n": 2}, {"dt": "2025-10-02", "n": 3}]

    # 评价时间 is no catalog column: the merge keeps it in extra_columns (JSON per row)
    sql = "select goods_name, extra_columns->>'评价时间' as review_time from pdd.badscore order by order_id limit 1"
    assert main(["sql", sql, "--csv"]) == 0
    assert capsys.readouterr().out == "goods_name,review_time\n衬衫,2025-10-01 10:00:00\n"


def test_sql_lists_tables_and_reports_errors(yd_home, capsys):
    assert main(["sql", "--tables"]) == 0
    listing = capsys.readouterr().out
    row = next(line for line in listing.splitlines() if "pdd.badscore " in line)
    assert [c.strip() for c in row.strip("|").split("|")][:3] == [
        "yd.warehouse.ods.pdd.pdd_badscore", "pdd.badscore", "minio.warehouse.ods.pdd.pdd_badscore"]
    assert "old-shape view (shop + report headers, text)" in listing
    assert main(["sql", "select broken from"]) == 1
    assert "yd-platform sql: ParserException" in capsys.readouterr().err
