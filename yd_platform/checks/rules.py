"""Business alert rules from `config/alerts.yaml`, run as asset checks on the ODS tables.

A rule names a catalog table and a condition in SQL. The SQL runs in DuckDB over two
views built from the dataset's parquet with the declared column types: `this_period` (the
partition being checked) and `last_period` (the one before). Rules are validated when the
code location loads, by EXPLAINing them against empty views of the same schema, so a typo
in a column name fails the load with the rule's name rather than at 08:30.
"""

from __future__ import annotations

import json
import math
import re
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.alerts_file import AlertsConfigError, read_alerts_file
from yd_platform.checks.evaluate import SAMPLE_SIZE, Outcome

# The merge's added columns that rule SQL sees beside the declared ones (see alerts.yaml).
RULE_MERGE_COLUMNS = ("platform", "shop_id", "period")
DUCKDB_TYPES = {"string": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE",
                "datetime": "TIMESTAMP", "bool": "BOOLEAN"}
VIEWS = ("this_period", "last_period")
RULE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# An alert rule is invalid: the message names the rule and what is wrong (one error class
# for every mistake in alerts.yaml).
RuleConfigError = AlertsConfigError


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    table: str
    description: str = ""
    severity: Literal["WARN", "ERROR"] = "WARN"
    owners: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    sql: str | None = None
    metric: str | None = None
    min: float | None = None
    max: float | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not RULE_NAME_RE.match(value):
            raise ValueError("must be snake_case (a-z, 0-9, _), it becomes the check name")
        return value

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRule:
        if (self.sql is None) == (self.metric is None):
            raise ValueError("give exactly one of 'sql' (failing rows) or 'metric' (one number)")
        if self.metric is not None and self.min is None and self.max is None:
            raise ValueError("a 'metric' rule needs 'min' and/or 'max'")
        if self.sql is not None and (self.min is not None or self.max is not None):
            raise ValueError("'min'/'max' only apply to 'metric' rules")
        return self

    @property
    def query(self) -> str:
        return (self.sql or self.metric or "").strip().rstrip(";")


def typed_select(ds: DatasetSpec, source: str | None, present: set[str] | None = None) -> str:
    """SELECT giving the declared columns their types; absent columns become typed NULLs."""
    present = present or set()
    parts = []
    for name in RULE_MERGE_COLUMNS:
        parts.append(f'CAST("{name}" AS VARCHAR) AS "{name}"' if name in present else f'CAST(NULL AS VARCHAR) AS "{name}"')
    for col in ds.columns:
        kind = DUCKDB_TYPES[col.type]
        if col.name in present:
            value = f'NULLIF(TRIM(CAST("{col.name}" AS VARCHAR)), \'\')' if kind != "VARCHAR" else f'CAST("{col.name}" AS VARCHAR)'
            parts.append(f'TRY_CAST({value} AS {kind}) AS "{col.name}"')
        else:
            parts.append(f'CAST(NULL AS {kind}) AS "{col.name}"')
    return f"SELECT {', '.join(parts)}" + (f" FROM {source}" if source else "")


def register_views(con: duckdb.DuckDBPyConnection, ds: DatasetSpec,
                   current: pa.Table | None, previous: pa.Table | None) -> None:
    for view, table in zip(VIEWS, (current, previous), strict=True):
        raw_name = f"{view}_raw"
        if table is None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM ({typed_select(ds, None)}) WHERE false")
            continue
        con.register(raw_name, table)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS "
                    f"{typed_select(ds, raw_name, set(table.column_names))}")


def dataset_for_table(catalog: Catalog, table: str) -> DatasetSpec | None:
    return next((ds for ds in catalog.datasets() if ds.table == table), None)


def validate_rule(rule: AlertRule, catalog: Catalog, channels: set[str] | None = None) -> DatasetSpec:
    ds = dataset_for_table(catalog, rule.table)
    if ds is None:
        raise RuleConfigError(f"alert rule {rule.name!r}: unknown table {rule.table!r} "
                              f"(not a table of any catalog dataset)")
    unknown = sorted(set(rule.channels) - channels) if channels is not None else []
    if unknown:
        raise RuleConfigError(f"alert rule {rule.name!r}: unknown channels {unknown}; "
                              f"known: {sorted(channels or [])}")
    con = duckdb.connect()
    try:
        register_views(con, ds, None, None)
        con.execute(f"EXPLAIN {rule.query}")
        if rule.metric is not None:
            width = len(con.execute(f"SELECT * FROM ({rule.query}) LIMIT 0").description)
            if width != 1:
                raise RuleConfigError(f"alert rule {rule.name!r}: a metric query must return one column, got {width}")
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise RuleConfigError(f"alert rule {rule.name!r} on {rule.table}: invalid SQL: {first}") from None
    finally:
        con.close()
    return ds


def load_rules(catalog: Catalog, data: dict | None = None, channels: set[str] | None = None) -> list[tuple[AlertRule, DatasetSpec]]:
    """Every rule with its dataset, validated; the first invalid one raises RuleConfigError."""
    data = read_alerts_file() if data is None else data
    entries = data.get("rules") or []
    if not isinstance(entries, list):
        raise RuleConfigError("alerts config: 'rules' must be a list")
    if channels is None:
        channels = set(((data.get("notify") or {}).get("channels") or {}).keys())
    out, seen = [], set()
    for index, entry in enumerate(entries):
        label = entry.get("name") if isinstance(entry, dict) else None
        try:
            rule = AlertRule.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'rule'}: {e['msg']}" for e in exc.errors())
            raise RuleConfigError(f"alert rule {label or f'#{index + 1}'!r}: {problems}") from None
        if rule.name in seen:
            raise RuleConfigError(f"alert rule {rule.name!r}: defined twice")
        seen.add(rule.name)
        out.append((rule, validate_rule(rule, catalog, channels)))
    return out


def _sample(rows: list[tuple], columns: list[str]) -> str:
    return json.dumps([dict(zip(columns, r, strict=False)) for r in rows[:SAMPLE_SIZE]], ensure_ascii=False, default=str)


def run_rules(rules: list[AlertRule], ds: DatasetSpec, current: pa.Table | None,
              previous: pa.Table | None) -> dict[str, Outcome]:
    """Every rule of a dataset over one partition: the views are built once for all of them."""
    con = duckdb.connect()
    try:
        register_views(con, ds, current, previous)
        return {rule.name: rule_outcome(rule, con) for rule in rules}
    finally:
        con.close()


def run_rule(rule: AlertRule, ds: DatasetSpec, current: pa.Table | None, previous: pa.Table | None) -> Outcome:
    return run_rules([rule], ds, current, previous)[rule.name]


def rule_outcome(rule: AlertRule, con: duckdb.DuckDBPyConnection) -> Outcome:
    """One rule on a connection whose `this_period` / `last_period` views are registered."""
    cursor = con.execute(rule.query)
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if rule.sql is not None:
        return Outcome(not rows, f"{len(rows)} failing rows" if rows else "no failing rows", len(rows),
                       {"sample": _sample(rows, columns) if rows else "-", "rule": rule.description or rule.name})
    value = rows[0][0] if rows else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Outcome(True, "no data to measure", 0, {"value": "-"})
    value = float(value)
    low = rule.min is not None and value < rule.min
    high = rule.max is not None and value > rule.max
    bounds = f"[{'' if rule.min is None else rule.min}, {'' if rule.max is None else rule.max}]"
    return Outcome(not (low or high), f"value {value:g} {'outside' if low or high else 'within'} {bounds}",
                   1 if low or high else 0, {"value": value, "bounds": bounds, "rule": rule.description or rule.name})
