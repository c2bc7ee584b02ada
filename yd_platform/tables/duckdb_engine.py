"""The embedded table engine: DuckDB over the ODS parquet on the object store.

Each dataset is scanned as a pyarrow dataset (local folder or S3/MinIO through
pyarrow.fs.S3FileSystem, since DuckDB's httpfs is not assumed) with its Hive partition
column `dt` as text, the folder value (`2025-10-01`, weekly and monthly
`2025-09-25_2025-10-01`), and exposed under three names:

- its configured table name, quoted: `"minio.warehouse.ods.pdd.pdd_badscore"`;
- the same name unquoted, as Dremio users type it: `minio.warehouse.ods.pdd.pdd_badscore`
  (`query()` quotes configured names before DuckDB sees the SQL);
- `<platform>.<dataset>`, e.g. `pdd.badscore` (a DuckDB schema per platform).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.merge.schema import merged_schema
from yd_platform.pipeline.partitions import ODS_PARTITION_COLUMN, ods_partition_value
from yd_platform.tables.ods import ods_files


class TableQueryError(RuntimeError):
    """A query against the embedded engine failed; the message is DuckDB's, with the SQL."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def table_schema(ds: DatasetSpec) -> pa.Schema:
    """The ODS table's columns: the merged schema plus the Hive partition column `dt` (text)."""
    return merged_schema(ds).append(pa.field(ODS_PARTITION_COLUMN, pa.string()))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_table_names(sql: str, names: list[str]) -> str:
    """Quote every unquoted occurrence of a configured (dotted) table name."""
    for name in sorted(names, key=len, reverse=True):
        pattern = re.compile(r'(?<![\w."])' + re.escape(name) + r'(?![\w"])', re.IGNORECASE)
        sql = pattern.sub(quote_ident(name), sql)
    return sql


class DuckDBTables:
    """Views over every dataset of the catalog; one DuckDB connection per instance."""

    def __init__(self, datasets: list[DatasetSpec], object_store):
        self.object_store = object_store
        self.datasets = [ds for ds in datasets if ds.columns]
        self._con: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def for_catalog(cls, catalog: Catalog, object_store) -> DuckDBTables:
        return cls(catalog.datasets(), object_store)

    def dataset(self, ds: DatasetSpec) -> pads.Dataset:
        """The ODS files of `ds` as one pyarrow dataset (empty, with the schema, if none)."""
        schema = table_schema(ds)
        store = self.object_store.client()
        keys = ods_files(store, ds)
        if not keys:
            return pads.dataset(schema.empty_table())
        filesystem, base = self.object_store.arrow_filesystem()
        partitioning = pads.partitioning(pa.schema([schema.field(ODS_PARTITION_COLUMN)]), flavor="hive")
        return pads.dataset([f"{base}/{k}" for k in keys], schema=schema, format="parquet",
                            filesystem=filesystem, partitioning=partitioning,
                            partition_base_dir=f"{base}/{ds.object_path.strip('/')}")

    def connect(self) -> duckdb.DuckDBPyConnection:
        if self._con is not None:
            return self._con
        con = duckdb.connect()
        for ds in self.datasets:
            self._expose(con, ds)
        self._con = con
        return con

    def _expose(self, con: duckdb.DuckDBPyConnection, ds: DatasetSpec) -> None:
        source = f"__ods_{ds.slug}"
        con.register(source, self.dataset(ds))
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(ds.platform)}")
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(ds.platform)}.{quote_ident(ds.code)} "
                    f"AS SELECT * FROM {quote_ident(source)}")
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(ds.table)} AS SELECT * FROM {quote_ident(source)}")

    def reload(self, ds: DatasetSpec) -> None:
        """Pick up the dataset's current files (after a partition was written)."""
        if self._con is not None:
            self._con.unregister(f"__ods_{ds.slug}")
            self._expose(self._con, ds)

    def table_names(self) -> list[str]:
        return [ds.table for ds in self.datasets]

    def query(self, sql: str) -> QueryResult:
        prepared = quote_table_names(sql, self.table_names())
        try:
            cursor = self.connect().execute(prepared)
            columns = [d[0] for d in cursor.description or []]
            return QueryResult(columns, cursor.fetchall() if columns else [])
        except duckdb.Error as exc:
            raise TableQueryError(f"{exc.__class__.__name__}: {exc}\nSQL: {prepared}") from None

    def partition_rows(self, ds: DatasetSpec, partitions: list[str]) -> dict[str, int]:
        """Row counts of the given partitions (Dagster keys) as the engine reads them."""
        self.reload(ds)
        column = quote_ident(ODS_PARTITION_COLUMN)
        values = {p: ods_partition_value(ds, p) for p in partitions}
        marks = ", ".join("?" for _ in partitions)
        rows = self.connect().execute(
            f"SELECT {column}, count(*) FROM {quote_ident(ds.table)} WHERE {column} IN ({marks}) GROUP BY 1",
            list(values.values())).fetchall()
        counts = dict(rows)
        return {p: int(counts.get(v, 0)) for p, v in values.items()}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
