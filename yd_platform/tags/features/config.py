"""The `source:` section of tags.yaml: which ODS datasets and columns build the per-user
feature source, and the feature schema that follows from it.

Mistakes are refused when the code location loads, with a message naming the file, the
entry and the field (e.g. ``tags.yaml: source.datasets[0] (pdd/chat): column 'x' ...``).
The feature schema (name -> number/string/date/boolean/list) follows from this section
and the catalog alone, so rules can be validated without starting Spark.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yd_platform.catalog import Catalog, DatasetSpec

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
CATALOG_KINDS = {"string": "string", "int": "number", "float": "number", "date": "date",
                 "datetime": "date", "bool": "boolean"}
# Spark types of a feature that has no data yet (its dataset has no partition in the window).
EMPTY_TYPES = {"number": "double", "string": "string", "date": "date", "boolean": "boolean",
               "list": "array<string>"}
ADDED_COLUMNS = {"platform": "string", "shop_id": "string", "period": "string",
                 "period_start": "date", "period_end": "date"}


class TagsConfigError(ValueError):
    """tags.yaml is wrong; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feature(_Model):
    agg: Literal["count", "count_distinct", "sum", "min", "max", "collect_set"]
    column: str | None = None


class SourceDataset(_Model):
    dataset: str = Field(pattern=r"^[a-z0-9_]+/[a-z0-9_]+$")
    user_column: str
    features: dict[str, Feature] = Field(default_factory=dict)
    # snapshot tables (one row per user per partition): only the newest partition in the
    # window is read, and `columns` are features under their own names, taken as they are
    snapshot: bool = False
    columns: list[str] = Field(default_factory=list)

    @property
    def platform_code(self) -> tuple[str, str]:
        platform, code = self.dataset.split("/")
        return platform, code


class Derived(_Model):
    sum: list[str] | None = None
    greatest: list[str] | None = None

    @property
    def op(self) -> str:
        return "sum" if self.sum else "greatest"

    @property
    def inputs(self) -> list[str]:
        return list(self.sum or self.greatest or [])


class Source(_Model):
    window_days: int = Field(default=90, gt=0)
    datasets: list[SourceDataset]
    derived: dict[str, Derived] = Field(default_factory=dict)


def _column_kinds(ds: DatasetSpec) -> dict[str, str]:
    return {**ADDED_COLUMNS, **{c.name: CATALOG_KINDS[c.type] for c in ds.columns}}


def feature_schema(source: Source, catalog: Catalog) -> dict[str, str]:
    """user_id and every feature of the `source:` section with its rule type; raises
    TagsConfigError on a bad entry."""
    schema = {"user_id": "string"}

    def add(name: str, kind: str, where: str) -> None:
        if not NAME_RE.match(name):
            raise TagsConfigError(f"tags.yaml: {where}: feature name {name!r} must be lower_snake_case")
        if name in schema:
            raise TagsConfigError(f"tags.yaml: {where}: feature {name!r} is defined twice")
        schema[name] = kind

    for i, entry in enumerate(source.datasets):
        where = f"source.datasets[{i}] ({entry.dataset})"
        try:
            ds = catalog.dataset(*entry.platform_code)
        except KeyError as exc:
            raise TagsConfigError(f"tags.yaml: {where}: {exc.args[0]}") from exc
        columns = _column_kinds(ds)
        if entry.user_column not in columns:
            raise TagsConfigError(f"tags.yaml: {where}: user_column {entry.user_column!r} is not a column "
                                  f"of {entry.dataset} (columns: {', '.join(columns)})")
        if entry.columns and not entry.snapshot:
            raise TagsConfigError(f"tags.yaml: {where}: columns are taken as they are, which needs "
                                  "snapshot: true (one row per user)")
        for name in entry.columns:
            if name not in columns:
                raise TagsConfigError(f"tags.yaml: {where}.columns: {name!r} is not a column of "
                                      f"{entry.dataset} (columns: {', '.join(columns)})")
            add(name, columns[name], f"{where}.columns")
        for name, feature in entry.features.items():
            fwhere = f"{where}.features.{name}"
            if feature.agg == "count":
                add(name, "number", fwhere)
                continue
            if feature.column not in columns:
                raise TagsConfigError(f"tags.yaml: {fwhere}: column {feature.column!r} is not a column of "
                                      f"{entry.dataset} (columns: {', '.join(columns)})")
            kind = columns[feature.column]
            if feature.agg == "sum" and kind != "number":
                raise TagsConfigError(f"tags.yaml: {fwhere}: sum needs a number column, {feature.column} is {kind}")
            add(name, {"count_distinct": "number", "collect_set": "list"}.get(feature.agg, kind), fwhere)
    for name, derived in source.derived.items():
        where = f"source.derived.{name}"
        if bool(derived.sum) == bool(derived.greatest):
            raise TagsConfigError(f"tags.yaml: {where}: give exactly one of sum: [...] or greatest: [...]")
        kinds = set()
        for item in derived.inputs:
            if item not in schema:
                raise TagsConfigError(f"tags.yaml: {where}: unknown feature {item!r}")
            kinds.add(schema[item])
        if len(kinds) != 1 or (derived.op == "sum" and kinds != {"number"}):
            raise TagsConfigError(f"tags.yaml: {where}: inputs must all be numbers for sum, or all one type "
                                  f"for greatest (got {sorted(kinds)})")
        add(name, kinds.pop(), where)
    return schema
