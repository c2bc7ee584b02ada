"""Warehouse tables: a copy of one SQL table per tick, no browser.

The user feature tables of the tags (`user_basic_info`, ...) are computed upstream in
the data warehouse. This collector reads the table named by the dataset's `report:
{table: ...}` from the warehouse the `collector` resource names (`warehouse_url`, from
YD_WAREHOUSE_URL; the embedded default is the SQLite file YD_HOME/warehouse.db that
`yd-platform tags demo-data` fills) and hands it on as a CSV with the catalog's column names, so merge, ODS and
checks treat it like any downloaded report.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import sqlalchemy as sa

from yd_platform.collect.errors import PermanentError, TransientError
from yd_platform.collect.framework import Collected, CollectJob
from yd_platform.collect.verify import verify_report
from yd_platform.resources.warehouse_db import warehouse_url


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class WarehouseCollector:
    """Same constructor and `collect` as the browser collectors (see `collect.raw_asset`)."""

    def __init__(self, settings=None, keep=None, log=None, pace=None):
        self.url = getattr(settings, "warehouse_url", "") or warehouse_url()
        self.base = sa.make_url(self.url).render_as_string(hide_password=True)
        self.log = log

    @contextmanager
    def session(self, account: str) -> Iterator[WarehouseCollector]:
        """No browser and no login: a batch simply reads the warehouse once per period."""
        yield self

    def collect(self, job: CollectJob, attempt: int = 1) -> Collected:
        started = time.monotonic()
        name = job.ds.report.get("table")
        if not name:
            raise PermanentError(f"{job.ds.slug}: report needs 'table' for the warehouse collector")
        data = self.export_csv(job, name)
        report = verify_report(data, job.ds, name=f"{job.label}: warehouse table {name}")
        return Collected(data, report, round(time.monotonic() - started, 3), attempts=attempt, logins=0)

    def export_csv(self, job: CollectJob, name: str) -> bytes:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                columns = [table.c[c.name] for c in job.ds.columns if c.name in table.c]
                if not columns:
                    raise PermanentError(f"{job.label}: warehouse table {name} in {self.base} has none of the "
                                         f"columns {[c.name for c in job.ds.columns]}")
                key = [table.c[c.name] for c in job.ds.columns if c.key and c.name in table.c]
                rows = conn.execute(sa.select(*columns).order_by(*key)).all()
        except sa.exc.NoSuchTableError:
            raise PermanentError(f"{job.label}: no table {name!r} in the warehouse {self.base} (set "
                                 "YD_WAREHOUSE_URL, or fill the embedded one with `yd-platform tags demo-data`)"
                                 ) from None
        except sa.exc.OperationalError as exc:
            raise TransientError(f"{job.label}: warehouse {self.base} not reachable: {exc.orig}") from None
        finally:
            engine.dispose()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        writer.writerows([_text(v) for v in row] for row in rows)
        return out.getvalue().encode("utf-8")
