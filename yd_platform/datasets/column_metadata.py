"""Dagster metadata describing a table's columns (shown in the UI's column view)."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.schema import ADDED_COLUMN_HEADERS


def column_schema(schema: pa.Schema, ds: DatasetSpec) -> dg.TableSchema:
    declared = {c.name: c for c in ds.columns}
    columns = []
    for f in schema:
        col = declared.get(f.name)
        if col is not None:
            about = "/".join(col.aliases) or col.name
            constraints = dg.TableColumnConstraints(nullable=not col.required, unique=False)
            about += " (key)" if col.key else ""
        else:
            about = ADDED_COLUMN_HEADERS.get(f.name, "partition column")
            constraints = None
        columns.append(dg.TableColumn(f.name, str(f.type), description=about, constraints=constraints))
    return dg.TableSchema(columns=columns)
