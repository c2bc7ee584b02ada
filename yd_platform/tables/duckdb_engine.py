"""The embedded table engine: DuckDB over the ODS parquet on the object store.

Each dataset is scanned as a pyarrow dataset (local folder or S3/MinIO through
pyarrow.fs.S3FileSystem, since DuckDB's httpfs is not assumed) with its Hive partition
column `dt` as text, the folder value (`2025-10-01`, weekly and monthly
`2025-09-25_2025-10-01`), and exposed as:

- the typed table, `yd.warehouse.ods.pdd.pdd_badscore` and `pdd.badscore` (a DuckDB
  schema per platform);
- the old-shape view under the old name, `minio.warehouse.ods.pdd.pdd_badscore` (also
  `ods.pdd.pdd_badscore`): `shop` and the report's headers as text (`tables.old_shape`).

Dotted names are typed as in Dremio, unquoted or quoted per part
(`"minio"."warehouse"."ods"."pdd"."pdd_badscore"`); `query()` turns them into the one
quoted name DuckDB knows before it sees the SQL.

Queries read only these tables and change nothing: the connection has no file, network
or extension access (pyarrow reads the files, DuckDB only the registered datasets), its
configuration is locked, Python variables are not tables, and `query()` runs a SELECT
(or EXPLAIN of one) only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.datasets.layout import ods_files
from yd_platform.datasets.partitions import ODS_PARTITION_COLUMN, ods_partition_value
from yd_platform.datasets.schema import merged_schema
from yd_platform.tables.old_shape import (
    catalog_shop_names,
    old_shape_select,
    old_table_aliases,
    old_table_name,
    quote_ident,
    typed_table_name,
)


class TableQueryError(RuntimeError):
    """A query against the embedded engine failed; the message is DuckDB's, with the SQL."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def table_schema(ds: DatasetSpec) -> pa.Schema:
    """The ODS table's columns: the merged schema plus the Hive partition column `dt` (text)."""
    return merged_schema(ds).append(pa.field(ODS_PARTITION_COLUMN, pa.string()))


# The connection reads the registered datasets and nothing else, and keeps it that way.
READ_ONLY_CONFIG = {
    "enable_external_access": False,      # no file, URL or database besides the registered datasets
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,  # a Python variable's name is no table
    "lock_configuration": True,           # SET, RESET and PRAGMA change none of this
}
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\b", re.IGNORECASE)
# A dotted name outside string literals and comments: parts unquoted or "quoted".
_PART = r'"(?:[^"]|"")*"|[^\W\d]\w*'
_NAME_OR_SKIP = re.compile(rf"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|(?P<name>(?:{_PART})(?:\s*\.\s*(?:{_PART}))*)",
                           re.DOTALL)


class ReadOnlyError(TableQueryError):
    """The SQL would change something or read outside the tables; it was not run."""


def _parts(name: str) -> list[str]:
    return [q.replace('""', '"') if q else u for q, u in re.findall(r'"((?:[^"]|"")*)"|([^\W\d]\w*)', name)]


def quote_table_names(sql: str, names: list[str] | dict[str, str]) -> str:
    """Write every dotted table name (`a.b.c`, `"a"."b".c`, any case) as the one quoted
    name DuckDB knows; `names` maps a spelling to that name (a list: each name itself)."""
    known = {k.casefold(): v for k, v in (names.items() if isinstance(names, dict) else ((n, n) for n in names))}

    def replace(match: re.Match) -> str:
        text = match.group("name")
        if text is None:
            return match.group(0)
        parts = _parts(text)
        target = known.get(".".join(parts).casefold()) if len(parts) > 1 else None
        return quote_ident(target) if target else text

    return _NAME_OR_SKIP.sub(replace, sql)


def read_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of `sql` if every one is a SELECT (or EXPLAIN of one); else ReadOnlyError."""
    statements = con.extract_statements(sql)
    for statement in statements:
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            try:
                inner = con.extract_statements(_EXPLAIN.sub("", statement.query, count=1))
            except duckdb.Error:
                inner = []  # EXPLAIN with options: refused rather than guessed
            kind = inner[0].type if len(inner) == 1 else kind
        if kind != duckdb.StatementType.SELECT:
            first = statement.query.strip().splitlines()[0] if statement.query.strip() else ""
            label = "INSTALL/LOAD" if kind == duckdb.StatementType.LOAD else kind.name
            raise ReadOnlyError(f"{label} refused: the ODS tables are read-only here; only SELECT (or EXPLAIN "
                                f"of one) over the tables runs, no COPY, CREATE, INSERT, ATTACH, INSTALL, LOAD, SET "
                                f"or PRAGMA\nSQL: {first}")
    return statements


class DuckDBTables:
    """Views over every dataset of the catalog; one read-only DuckDB connection per instance.

    `shop_names` ({platform: {shop id: name}}) gives the old-shape views their `shop`.
    """

    def __init__(self, datasets: list[DatasetSpec], object_store,
                 shop_names: dict[str, dict[str, str]] | None = None):
        self.object_store = object_store
        self.datasets = [ds for ds in datasets if ds.columns]
        self.shop_names = shop_names or {}
        self._con: duckdb.DuckDBPyConnection | None = None

    @classmethod
    def for_catalog(cls, catalog: Catalog, object_store) -> DuckDBTables:
        return cls(catalog.datasets(), object_store,
                   {p: catalog_shop_names(catalog, p) for p in catalog.platforms})

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
        con = duckdb.connect(config=READ_ONLY_CONFIG)
        for ds in self.datasets:
            self._expose(con, ds)
        self._con = con
        return con

    def _expose(self, con: duckdb.DuckDBPyConnection, ds: DatasetSpec) -> None:
        source = quote_ident(f"__ods_{ds.slug}")
        con.register(f"__ods_{ds.slug}", self.dataset(ds))
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(ds.platform)}")
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(ds.platform)}.{quote_ident(ds.code)} "
                    f"AS SELECT * FROM {source}")
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(typed_table_name(ds))} AS SELECT * FROM {source}")
        old = old_shape_select(ds, source, self.shop_names.get(ds.platform, {}), "duckdb")
        con.execute(f"CREATE OR REPLACE VIEW {quote_ident(old_table_name(ds))} AS {old}")

    def reload(self, ds: DatasetSpec) -> None:
        """Pick up the dataset's current files (after a partition was written)."""
        if self._con is not None:
            self._con.unregister(f"__ods_{ds.slug}")
            self._expose(self._con, ds)

    def table_names(self) -> dict[str, str]:
        """{every dotted spelling of a table: the name DuckDB knows}."""
        names: dict[str, str] = {}
        for ds in self.datasets:
            names[typed_table_name(ds)] = typed_table_name(ds)
            names[old_table_name(ds)] = old_table_name(ds)
            names.update({alias: old_table_name(ds) for alias in old_table_aliases(ds)})
        return names

    def query(self, sql: str) -> QueryResult:
        """Run a read-only query (SELECT, or EXPLAIN of one); the last statement's rows."""
        prepared = quote_table_names(sql, self.table_names())
        con = self.connect()
        try:
            cursor = None
            for statement in read_statements(con, prepared):
                cursor = con.execute(statement)
            columns = [d[0] for d in (cursor.description if cursor else None) or []]
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
            f"SELECT {column}, count(*) FROM {quote_ident(typed_table_name(ds))} WHERE {column} IN ({marks}) "
            "GROUP BY 1", list(values.values())).fetchall()
        counts = dict(rows)
        return {p: int(counts.get(v, 0)) for p, v in values.items()}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
