"""Taking over from the old systems on the day they are switched off: old state is
adopted, never redone.

- `adopt`: the old object store's ODS partitions (`ods/<platform>/<table>/dt=…/`, the
  old all-text shape), the old merged workbooks and shop files become the platform's
  materialized partitions, recorded in the Dagster instance without downloading anything
  again (`yd-platform adopt`).
- `task_tables`: the platform's collection outcomes written back into the old task
  tables (`pdd_tasks`, `tm_tasks`) for the tools that still read them (the
  `yd_task_tables` sensor, `defs.py`).
- `notices_import`: the old incentive system's sent notices (its SQLite `tasks` table and
  JSON status files) into the outbox as sent, so the first run announces only what the
  old system never did (`yd-platform incentives import-notices`).
- `shadow_report`: in shadow mode nothing leaves the outbox; the report compares what
  the platform would have sent and computed with the old systems' outputs
  (`yd-platform shadow report`).
- `old_shape_tables`: the old ODS tables' shape (`shop` first, the reports' own headers)
  under their old names, as Dremio and DuckDB views over the typed tables.
"""
