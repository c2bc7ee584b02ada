"""Dagster's MySQL storage with room for what the daemons write.

Dagster creates some body columns as plain `TEXT` on MySQL (64 KiB): the automation
sensor's evaluation of one asset over many partitions, a tick that requests many runs or
a run over a long partition range outgrow it, and the daemon then fails with "Data too
long for column 'asset_evaluation_body'". `prepare_instance` brings the schema up to date
(`dagster instance migrate`) and widens those columns to `LONGTEXT`; it is idempotent, so
the compose stack runs it before the webserver and daemon start, every time.
"""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

# table -> serialized bodies Dagster stores as TEXT (keys and indexed columns stay as they are)
BODY_COLUMNS: dict[str, tuple[str, ...]] = {
    "asset_daemon_asset_evaluations": ("asset_evaluation_body",),
    "job_ticks": ("tick_body",),
    "jobs": ("job_body",),
    "instigators": ("instigator_body",),
    "runs": ("run_body",),
    "asset_check_executions": ("evaluation_event",),
    "asset_keys": ("asset_details",),
    "kvs": ("value",),
    "daemon_heartbeats": ("body",),
}
NARROW_TYPES = ("text", "tinytext", "mediumtext")


def mysql_urls(instance: dg.DagsterInstance) -> list[str]:
    """The MySQL databases of the instance's storages (none on SQLite or Postgres)."""
    urls = []
    for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage):
        url = getattr(storage, "mysql_url", None)
        if url and url not in urls:
            urls.append(url)
    return urls


def widen_body_columns(url: str) -> list[str]:
    """ALTER every narrow body column of `BODY_COLUMNS` to LONGTEXT; returns `table.column`s changed."""
    engine = sa.create_engine(url)
    changed = []
    try:
        with engine.begin() as conn:
            found = conn.execute(sa.text(
                "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE()")).all()
            for table, column, data_type, nullable in found:
                if column in BODY_COLUMNS.get(table, ()) and data_type.lower() in NARROW_TYPES:
                    null = "NULL" if nullable == "YES" else "NOT NULL"
                    conn.execute(sa.text(f"ALTER TABLE `{table}` MODIFY `{column}` LONGTEXT {null}"))
                    changed.append(f"{table}.{column}")
    finally:
        engine.dispose()
    return changed


def prepare_instance(instance: dg.DagsterInstance) -> list[str]:
    """Migrate the instance's storage, then widen its MySQL body columns; returns what was done."""
    done = []
    instance.upgrade()
    done.append("storage schema migrated")
    for url in mysql_urls(instance):
        widened = widen_body_columns(url)
        done.append(f"widened to LONGTEXT: {', '.join(widened)}" if widened else "body columns already LONGTEXT")
    return done
