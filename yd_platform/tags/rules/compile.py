"""Turn validated rules into Spark Column expressions.

Fields are only ever used through `column(name)` (a quoted reference, so a backtick,
dot or space in a name is just part of the name) after the validator confirmed the name
is in the source schema; values only through `F.lit(value)`; nothing is pasted into a
SQL string.

Groups compile to a balanced tree of `&` / `|` (depth log2(width), not width: a chain
of 500 ORs overflows the JVM stack when Spark analyses it), and in an OR the equality
tests of one field collapse into a single `isin`. Every leaf is wrapped in `coalesce(expr, false)`, so a comparison with null
is false (the null operators are the exception by nature), and `NOT` of a null
comparison is true.

Spark 4 runs in ANSI mode, where a failed cast aborts the whole job. So a `date` rule
on a string field reads it with `try_cast` (a malformed value is null, hence no match),
and list values are `try_cast` to the field's element type when the source types are
known (`"app"` can never be in a list of numbers; it must not stop every other tag).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from yd_platform.tags.rules.validate import RANGE_OPERATORS


def column(name: str) -> Column:
    """A reference to the column called exactly `name` (backticks quoted, dots literal)."""
    return F.col("`" + name.replace("`", "``") + "`")


def schema_kinds(df: DataFrame) -> dict[str, str]:
    """The source schema as the validator sees it: field -> number|string|date|boolean|list."""
    kinds = {}
    for f in df.schema.fields:
        t = f.dataType
        if isinstance(t, T.NumericType):
            kinds[f.name] = "number"
        elif isinstance(t, T.StringType):
            kinds[f.name] = "string"
        elif isinstance(t, (T.DateType, T.TimestampType, T.TimestampNTZType)):
            kinds[f.name] = "date"
        elif isinstance(t, T.BooleanType):
            kinds[f.name] = "boolean"
        elif isinstance(t, T.ArrayType):
            kinds[f.name] = "list"
    return kinds


Types = Mapping[str, T.DataType]


def _date(value: str) -> Column:
    return F.lit(date.fromisoformat(value))


def _element_type(field: str, types: Types | None) -> T.DataType | None:
    t = (types or {}).get(field)
    return t.elementType if isinstance(t, T.ArrayType) else None


def _list_leaf(col: Column, op: str, value: Any, element: T.DataType | None) -> Column:
    def item(v: Any) -> Column:
        # each value on its own: an array of mixed literals would itself be an ANSI cast
        return F.lit(v).try_cast(element) if element is not None else F.lit(v)

    if op == "contains":
        return F.array_contains(col, item(value))
    overlap = F.arrays_overlap(col, F.array(*[item(v) for v in value]))
    # arrays_overlap is null when the arrays only share nothing but nulls; treat as no overlap.
    overlap = F.coalesce(overlap, F.lit(False))
    return overlap if op == "in" else (~overlap & col.isNotNull())


def _leaf(node: dict[str, Any], today: date, types: Types | None = None) -> Column:
    kind, op, value = node["type"], node["operator"], node.get("value")
    col = column(node["field"])
    if op == "is_null":
        return col.isNull()
    if op == "is_not_null":
        return col.isNotNull()
    if kind == "date":
        col = col.try_cast(T.DateType())
        lit = _date
    else:
        lit = F.lit
    if op == "recent_days":
        start = F.date_sub(F.lit(today), int(value))
        return (col >= start) & (col <= F.lit(today))
    if kind == "list":
        return _list_leaf(col, op, value, _element_type(node["field"], types))
    if op in RANGE_OPERATORS:
        return col.between(lit(value[0]), lit(value[1]))
    if op == "in":
        return col.isin([lit(v) for v in value])
    if op == "not_in":
        return ~col.isin([lit(v) for v in value])
    if op == "contains":
        return col.contains(F.lit(value))
    if op == "starts_with":
        return col.startswith(F.lit(value))
    right = lit(value)
    return {
        "=": lambda: col == right,
        "!=": lambda: col != right,
        ">": lambda: col > right,
        ">=": lambda: col >= right,
        "<": lambda: col < right,
        "<=": lambda: col <= right,
    }[op]()


def source_types(df: DataFrame) -> dict[str, T.DataType]:
    """Field -> Spark type of the tag source, for `rule_expression(..., types=)`."""
    return {f.name: f.dataType for f in df.schema.fields}


def balanced(parts: list[Column], combine) -> Column:
    """Combine `parts` pairwise, level by level: a tree of depth log2(len(parts))."""
    while len(parts) > 1:
        parts = [combine(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _equality_sets(conditions: list[Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Split an OR group's children into one `in` leaf per (field, type) of its `=` / `in`
    leaves on number, string or boolean fields, and the other children."""
    sets: dict[tuple[str, str], list[Any]] = {}
    rest = []
    for child in conditions:
        if ("conditions" not in child and child.get("type") in ("number", "string", "boolean")
                and child.get("operator") in ("=", "in")):
            values = child["value"] if child["operator"] == "in" else [child["value"]]
            sets.setdefault((child["field"], child["type"]), []).extend(values)
        else:
            rest.append(child)
    leaves = [{"field": f, "type": t, "operator": "in", "value": list(dict.fromkeys(v))}
              for (f, t), v in sets.items()]
    return leaves, rest


def rule_expression(node: dict[str, Any], today: date, types: Types | None = None) -> Column:
    """A boolean, never-null Column for a validated rule (`types`: see `source_types`)."""
    if "logic" not in node and "conditions" not in node:
        return F.coalesce(_leaf(node, today, types), F.lit(False))
    children = node["conditions"]
    if node["logic"] != "AND":
        leaves, rest = _equality_sets(children)
        children = [*leaves, *rest]
    parts = [rule_expression(child, today, types) for child in children]
    if node["logic"] == "AND":
        return balanced(parts, lambda a, b: a & b)
    any_part = balanced(parts, lambda a, b: a | b)
    return any_part if node["logic"] == "OR" else ~any_part
