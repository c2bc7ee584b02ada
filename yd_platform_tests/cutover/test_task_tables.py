"""The old task tables on MariaDB, created as the old generator created them: finished
periods count as collected (plan, schedules, status), and the `yd_task_tables` sensor
writes the platform's outcomes back without ever resetting `已完成`."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.catalog.periods import period_from_key
from yd_platform.cli import main as cli
from yd_platform.collect.shops_sensor import sync_shops
from yd_platform.cutover.task_tables import build_task_tables_sensor
from yd_platform.datasets.keys import raw_key
from yd_platform.datasets.partitions import raw_partition_key, raw_partitions
from yd_platform.definitions import build_definitions
from yd_platform.deployment_resources import resources_for
from yd_platform.resources.shops import ShopSourceResource
from yd_platform.resources.task_tables import TaskTableError, TaskTablesResource

pytestmark = pytest.mark.slow
SH = ZoneInfo("Asia/Shanghai")
DAY, NEXT = "2025-10-01", "2025-10-02"
FLAGSHIP, OUTLET, KIDS = "拼多多旗舰店", "拼多多折扣店", "拼多多童装店"
# the old pdd task table: key (time_period, shop_name), one VARCHAR status column per task
PDD_TASKS = """
CREATE TABLE pdd_tasks (
  time_period VARCHAR(32) NOT NULL,
  shop_name VARCHAR(255) NOT NULL,
  badsscore_status VARCHAR(20) NULL,
  quality_status VARCHAR(20) NULL,
  kpi_days_status VARCHAR(20) NULL,
  chat_status VARCHAR(20) NULL,
  kpi_weekly_status VARCHAR(20) NULL,
  kpi_monthly_status VARCHAR(20) NULL,
  update_time TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (time_period, shop_name)
) DEFAULT CHARSET=utf8mb4
"""


def old_generator(conn, period: str, shops: list[str], columns: list[str]) -> None:
    """What generate_all_tasks.py did: INSERT IGNORE the rows, `待执行` only where empty."""
    for shop in shops:
        conn.execute(sa.text("INSERT IGNORE INTO pdd_tasks (time_period, shop_name) VALUES (:p, :s)"),
                     {"p": period, "s": shop})
    for column in columns:
        conn.execute(sa.text(f"UPDATE pdd_tasks SET {column} = '待执行' WHERE time_period = :p "
                             f"AND ({column} IS NULL OR {column} = '')"), {"p": period})


def statuses(url: str, column: str = "badsscore_status") -> dict[tuple[str, str], str | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT time_period, shop_name, {column} FROM pdd_tasks")).all()
    finally:
        engine.dispose()
    return {(p, s): v for p, s, v in rows}


@pytest.fixture
def old_tables(mysql_url, monkeypatch, yd_home):
    """pdd_tasks on MariaDB: on DAY the flagship finished badscore, the others are pending."""
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(sa.text(PDD_TASKS))
        old_generator(conn, DAY, [FLAGSHIP, OUTLET, KIDS], ["badsscore_status", "quality_status"])
        conn.execute(sa.text("UPDATE pdd_tasks SET badsscore_status = '已完成' WHERE shop_name = :s"), {"s": FLAGSHIP})
    engine.dispose()
    monkeypatch.setenv("YD_TASK_TABLES_DB_URL", mysql_url)
    return mysql_url


def test_finished_periods_are_not_requested_again(old_tables, catalog, instance, capsys):
    assert cli.main(["plan", "--date", NEXT, "--platforms", "pdd", "--json"]) == 0
    plans = {p["dataset"]: p for p in map(json.loads, capsys.readouterr().out.splitlines())}
    assert plans["badscore"]["partition"] == DAY
    assert plans["badscore"]["shops"] == ["pdd_kids", "pdd_outlet"]
    assert plans["badscore"]["already_collected"] == {"pdd_flagship": "old task table: pdd_tasks.badsscore_status = 已完成"}
    assert plans["quality"]["already_collected"] == {}  # another column, another task

    defs = build_definitions(catalog)
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2025, 10, 2, 8, 30, tzinfo=SH),
                                   repository_def=defs.get_repository_def(), resources=resources_for()) as context:
        requests = defs.resolve_schedule_def("pdd__badscore__schedule").evaluate_tick(context).run_requests
    assert sorted(r.partition_key for r in requests) == [f"{DAY}|pdd_kids", f"{DAY}|pdd_outlet"]


def test_status_shows_the_task_table_as_source(old_tables, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", NEXT, "--days", "1", "--json"]) == 0
    [status] = json.loads(capsys.readouterr().out)["datasets"]
    assert status["shops"]["pdd_flagship"][DAY] == "done_in_task_table"
    assert status["sources"]["pdd_flagship"][DAY] == "old task table: pdd_tasks.badsscore_status = 已完成"
    assert status["shops"]["pdd_outlet"][DAY] == "missing"
    assert cli.main(["status", "--dataset", "pdd/badscore", "--date", NEXT, "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "pdd_flagship" in out and "tt=done_in_task_table" in out


def _stand_in(ds):
    """The dataset's raw asset key and partitions; kids fails, as a download would."""

    @dg.asset(key=raw_key(ds), partitions_def=raw_partitions(ds))
    def raw(context) -> None:
        if context.partition_key.keys_by_dimension["shop"] == "pdd_kids":
            raise RuntimeError("back-end answered 502")

    return raw


def _sensor_tick(catalog, instance, resources, cursor=None):
    sensor = build_task_tables_sensor(catalog)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        data = sensor.evaluate_tick(context)
        return data, data.cursor


def test_sensor_writes_outcomes_back_and_never_resets_done(old_tables, catalog, instance):
    ds = catalog.dataset("pdd", "badscore")
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    raw = _stand_in(ds)
    for day in (DAY, NEXT):
        for shop in ("pdd_flagship", "pdd_outlet", "pdd_kids"):
            dg.materialize([raw], partition_key=raw_partition_key(day, shop), instance=instance, raise_on_error=False)
    # a later failure of the finished flagship (a re-run that broke) must not undo 已完成
    @dg.asset(key=raw_key(ds), partitions_def=raw_partitions(ds))
    def broken(context) -> None:
        raise RuntimeError("session expired")

    dg.materialize([broken], partition_key=raw_partition_key(DAY, "pdd_flagship"), instance=instance,
                   raise_on_error=False)
    resources = {"task_tables": TaskTablesResource(db_url=old_tables), "shop_source": ShopSourceResource(source="config")}
    result, cursor = _sensor_tick(catalog, instance, resources)
    assert "pdd__badscore 7" in result.skip_message
    after = statuses(old_tables)
    assert after[(DAY, FLAGSHIP)] == "已完成"        # done stays done
    assert after[(DAY, OUTLET)] == "已完成"          # pending, then collected by the platform
    assert after[(DAY, KIDS)] == "待执行"            # failed: the old failure word, pending again
    assert after[(NEXT, FLAGSHIP)] == "已完成"       # a row the old generator never made: INSERT IGNORE
    assert after[(NEXT, KIDS)] == "待执行"
    assert statuses(old_tables, "quality_status")[(DAY, OUTLET)] == "待执行"  # other tasks untouched

    again, cursor = _sensor_tick(catalog, instance, resources, cursor)
    assert again.skip_message.startswith("no new raw outcomes")
    assert statuses(old_tables) == after


def test_switched_off_per_platform_and_clear_errors(old_tables, catalog, instance, tmp_path):
    ds = catalog.dataset("pdd", "badscore")
    sync_shops(instance, catalog, ShopSourceResource(source="config"))
    dg.materialize([_stand_in(ds)], partition_key=raw_partition_key(NEXT, "pdd_outlet"), instance=instance)
    off = tmp_path / "task_tables.yaml"
    off.write_text("platforms:\n  pdd:\n    table: pdd_tasks\n    read: false\n    write: false\n"
                   "    status_columns: {badscore: badsscore_status}\n", encoding="utf-8")
    resources = {"task_tables": TaskTablesResource(db_url=old_tables, config_path=str(off)),
                 "shop_source": ShopSourceResource(source="config")}
    result, cursor = _sensor_tick(catalog, instance, resources)
    assert result.skip_message.startswith("no new raw outcomes")
    assert (NEXT, OUTLET) not in statuses(old_tables)
    assert resources["task_tables"].finished_names(ds, period_from_key(ds.cadence, DAY)) == {}
    # switched on again, the outcome that waited is written
    resources["task_tables"] = TaskTablesResource(db_url=old_tables)
    _sensor_tick(catalog, instance, resources, cursor)
    assert statuses(old_tables)[(NEXT, OUTLET)] == "已完成"

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("platforms:\n  pdd:\n    table: pdd_tasks\n    status_columns: {badscore: badscore_status}\n",
                     encoding="utf-8")
    with pytest.raises(TaskTableError, match=r"pdd_tasks.*no column\(s\) \['badscore_status'\]"):
        TaskTablesResource(db_url=old_tables, config_path=str(wrong)).finished_names(ds, period_from_key(ds.cadence, DAY))
