"""Making written ODS partitions visible in the table engine (the `table_engine` resource).

- DuckDB: nothing to register; the written partitions are read back through DuckDB,
  and the refresh fails if the row counts differ.
- Dremio: `ALTER TABLE ... REFRESH METADATA` of the typed table, then its reflections,
  then the old-shape view under the old name when its SQL changed (`resources.dremio`,
  `tables.old_shape`).
"""

from __future__ import annotations

from yd_platform.catalog import DatasetSpec, load_catalog
from yd_platform.resources.dremio import dremio_path
from yd_platform.resources.table_engine import TableEngineResource
from yd_platform.tables.old_shape import catalog_shop_names, old_shape_select, typed_table_name


class TableRefreshError(RuntimeError):
    """The engine does not see the partition as it was written."""


def refresh_table(engine: TableEngineResource, ds: DatasetSpec, written: dict[str, int],
                  object_store) -> dict[str, object]:
    """Make the written partitions ({key: rows}) visible; returns metadata about it."""
    if engine.engine == "dremio":
        client, typed = engine.dremio(), typed_table_name(ds)
        job, reflections = client.refresh(typed, promote=engine.dremio_promote)
        view = old_shape_select(ds, dremio_path(typed), catalog_shop_names(load_catalog(), ds.platform), "dremio")
        replaced = client.ensure_view(ds.table, view)
        return {"engine": "dremio", "refresh_job": job.id, "refresh_sql": job.sql,
                "reflections_refreshed": ", ".join(reflections.reflections),
                "old_shape_view": ds.table, "old_shape_view_replaced": replaced}
    from yd_platform.tables.duckdb_engine import DuckDBTables

    tables = DuckDBTables([ds], object_store)
    try:
        seen = tables.partition_rows(ds, list(written))
    finally:
        tables.close()
    wrong = {k: (written[k], seen[k]) for k in written if seen[k] != written[k]}
    if wrong:
        raise TableRefreshError(f"{ds.table}: DuckDB reads other row counts than were written "
                                f"(partition: (written, read)) {wrong}")
    return {"engine": "duckdb"}
