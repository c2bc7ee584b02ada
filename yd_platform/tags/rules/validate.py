"""Tag rules: the JSON format users write, and the validator that guards the evaluation.

A rule is a group ``{"logic": "AND"|"OR"|"NOT", "conditions": [...]}`` nested to any
depth (a single leaf is accepted as the whole rule too). A leaf is
``{"field", "operator", "value", "type"}``. ``NOT`` matches when none of its conditions
match. Every problem is reported as ``tag <id>: <json path>: <what is wrong>`` so a
wrong tag can be found and fixed; only rules that passed are compiled and evaluated.

The validator is pure Python: the source schema is a mapping field -> type (number,
string, date, boolean, list), so rules can be checked without starting Spark.

It also refuses what Spark cannot run (see the README's rule limits): groups nested
deeper than MAX_DEPTH, a group with more than MAX_GROUP_WIDTH conditions, an `in` /
`not_in` list longer than MAX_LIST_VALUES. Depth is measured without recursion, so a
rule nested a thousand levels deep is one problem of its tag, not a RecursionError.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LOGICS = ("AND", "OR", "NOT")
TYPES = ("number", "string", "date", "boolean", "list")
NULL_OPERATORS = ("is_null", "is_not_null")
COMPARISONS = ("=", "!=", ">", ">=", "<", "<=")
RANGE_OPERATORS = ("between", "in_range")

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "number": (*COMPARISONS, "in", "not_in", *RANGE_OPERATORS, *NULL_OPERATORS),
    "string": ("=", "!=", "in", "not_in", "contains", "starts_with", *NULL_OPERATORS),
    "date": (*COMPARISONS, *RANGE_OPERATORS, "recent_days", *NULL_OPERATORS),
    "boolean": ("=", "!=", *NULL_OPERATORS),
    "list": ("contains", "in", "not_in", *NULL_OPERATORS),
}
ALL_OPERATORS = tuple(dict.fromkeys(op for ops in OPERATORS_BY_TYPE.values() for op in ops))
# A field may be compared as `date` when the source holds a date, a timestamp or an ISO string.
SOURCE_TYPES_FOR_RULE_TYPE: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "string": ("string",),
    "date": ("date", "string"),
    "boolean": ("boolean",),
    "list": ("list",),
}
MAX_DEPTH = 16
MAX_GROUP_WIDTH = 1000
MAX_LIST_VALUES = 10000
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class TagRule:
    """One tag with its rule, as stored in tag_definition + tag_rules or a rules file."""

    tag_id: int
    tag_name: str
    rule: Any
    category: str = ""


@dataclass(frozen=True)
class RuleProblem:
    tag_id: int | None
    path: str
    message: str

    def __str__(self) -> str:
        who = f"tag {self.tag_id}" if self.tag_id is not None else "tag ?"
        return f"{who}: {self.path}: {self.message}"


@dataclass
class Validation:
    """Which tags may run and why the others may not."""

    valid: list[TagRule] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _scalar_check(kind: str):
    return {
        "number": (_is_number, "a number"),
        "string": (lambda v: isinstance(v, str), "a string"),
        "date": (_is_date, "a date 'YYYY-MM-DD'"),
        "boolean": (lambda v: isinstance(v, bool), "true or false"),
        "list": (lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool), "a string or number"),
    }[kind]


def value_problem(kind: str, operator: str, value: Any) -> str | None:
    """Why `value` does not fit `operator` on a `kind` field, or None when it does."""
    if operator in NULL_OPERATORS:
        return None if value is None else f"{operator} takes no value (got {value!r})"
    if operator == "recent_days":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"recent_days needs a whole number of days >= 0 (got {value!r})"
    is_ok, wanted = _scalar_check(kind)
    if operator in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return f"{operator} needs a non-empty list of {wanted} values (got {value!r})"
        if len(value) > MAX_LIST_VALUES:
            return f"{operator} list has {len(value)} values, more than the limit of {MAX_LIST_VALUES}"
        bad = [v for v in value if not is_ok(v)]
        return f"{operator} list items must be {wanted} (bad: {bad!r})" if bad else None
    if operator in RANGE_OPERATORS:
        if not isinstance(value, list) or len(value) != 2 or not all(is_ok(v) for v in value):
            return f"{operator} needs [low, high], each {wanted} (got {value!r})"
        if value[0] > value[1]:
            return f"{operator} needs low <= high (got {value!r})"
        return None
    if operator in ("contains", "starts_with") and kind == "string":
        return None if isinstance(value, str) and value else f"{operator} needs a non-empty string (got {value!r})"
    return None if is_ok(value) else f"{operator} on type {kind} needs {wanted} (got {value!r})"


class _Checker:
    def __init__(self, tag_id: int | None, schema: Mapping[str, str]):
        self.tag_id = tag_id
        self.schema = schema
        self.problems: list[RuleProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(RuleProblem(self.tag_id, path, message))

    def node(self, node: Any, path: str) -> None:
        if not isinstance(node, dict):
            self.fail(path, f"expected an object (a group or a condition), got {type(node).__name__}")
        elif "logic" in node or "conditions" in node:
            self.group(node, path)
        else:
            self.leaf(node, path)

    def group(self, node: dict, path: str) -> None:
        unknown = sorted(set(node) - {"logic", "conditions"})
        if unknown:
            self.fail(path, f"unknown keys {unknown} in a group (allowed: logic, conditions)")
        logic = node.get("logic")
        if logic not in LOGICS:
            self.fail(f"{path}.logic", f"must be one of {list(LOGICS)} (got {logic!r})")
        conditions = node.get("conditions")
        if not isinstance(conditions, list):
            self.fail(f"{path}.conditions", f"must be a list of conditions (got {conditions!r})")
            return
        if not conditions:
            self.fail(f"{path}.conditions", "empty group: a group needs at least one condition")
        if len(conditions) > MAX_GROUP_WIDTH:
            self.fail(f"{path}.conditions", f"{len(conditions)} conditions in one group, more than the limit "
                                            f"of {MAX_GROUP_WIDTH} (split it into nested groups)")
            return
        for i, child in enumerate(conditions):
            self.node(child, f"{path}.conditions[{i}]")

    def leaf(self, node: dict, path: str) -> None:
        unknown = sorted(set(node) - {"field", "operator", "value", "type"})
        if unknown:
            self.fail(path, f"unknown keys {unknown} in a condition (allowed: field, operator, value, type)")
        name, operator, kind = node.get("field"), node.get("operator"), node.get("type")
        source_kind = self.schema.get(name) if isinstance(name, str) else None
        if not isinstance(name, str) or not name:
            self.fail(f"{path}.field", f"must be a field name (got {name!r})")
        elif source_kind is None:
            self.fail(f"{path}.field", f"unknown field {name!r} (not in the source schema; "
                                       f"known: {', '.join(sorted(self.schema))})")
        if kind not in TYPES:
            self.fail(f"{path}.type", f"must be one of {list(TYPES)} (got {kind!r})")
            return
        if source_kind is not None and source_kind not in SOURCE_TYPES_FOR_RULE_TYPE[kind]:
            self.fail(f"{path}.type", f"field {name!r} is {source_kind} in the source, not {kind}")
        if operator not in OPERATORS_BY_TYPE[kind]:
            self.fail(f"{path}.operator", f"{operator!r} is not valid for type {kind} "
                                          f"(valid: {', '.join(OPERATORS_BY_TYPE[kind])})")
            return
        problem = value_problem(kind, operator, node.get("value"))
        if problem:
            self.fail(f"{path}.value", problem)


def load_json(text: str | bytes) -> Any:
    """json.loads that also reads documents nested deeper than Python's recursion limit
    (so the validator, not the parser, refuses them, naming their tag); ValueError on bad JSON."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply to read") from exc
    finally:
        sys.setrecursionlimit(limit)


def parse_rule(rule: Any) -> Any:
    """Rules stored as text (a JSON column filled by hand) are decoded; bad JSON raises ValueError."""
    if isinstance(rule, (str, bytes)):
        try:
            return load_json(rule)
        except ValueError as exc:
            raise ValueError(f"rule is not valid JSON: {exc}") from exc
    return rule


def too_deep(rule: Any) -> str | None:
    """The JSON path of the first group nested deeper than MAX_DEPTH, found without recursion."""
    stack = [(rule, "$", 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("conditions"), list):
            continue
        if depth > MAX_DEPTH:
            return path
        stack.extend((child, f"{path}.conditions[{i}]", depth + 1) for i, child in enumerate(node["conditions"]))
    return None


def check_rule(tag_id: int | None, rule: Any, schema: Mapping[str, str]) -> list[RuleProblem]:
    """Every problem of one rule against the source schema (empty when it may run)."""
    try:
        rule = parse_rule(rule)
    except ValueError as exc:
        return [RuleProblem(tag_id, "$", str(exc))]
    deep = too_deep(rule)
    if deep:
        return [RuleProblem(tag_id, deep, f"groups nested more than {MAX_DEPTH} levels deep (the limit); "
                                          "flatten the rule")]
    checker = _Checker(tag_id, schema)
    checker.node(rule, "$")
    return checker.problems


def validate_tags(tags: list[TagRule], schema: Mapping[str, str]) -> Validation:
    """Split tags into those that may run and the problems of the others."""
    result = Validation()
    seen: set[int] = set()
    for tag in tags:
        if tag.tag_id in seen:
            result.problems.append(RuleProblem(tag.tag_id, "$", "duplicate tag id; only the first rule runs"))
            continue
        seen.add(tag.tag_id)
        problems = check_rule(tag.tag_id, tag.rule, schema)
        if problems:
            result.problems.extend(problems)
        else:
            result.valid.append(TagRule(tag.tag_id, tag.tag_name, parse_rule(tag.rule), tag.category))
    return result


def tags_from_file_entries(entries: Any, source: str) -> tuple[list[TagRule], list[RuleProblem]]:
    """A rules file: a JSON list of {"tag_id", "tag_name", "rule"}; malformed entries are problems."""
    if not isinstance(entries, list):
        return [], [RuleProblem(None, "$", f"{source}: expected a JSON list of {{tag_id, tag_name, rule}}")]
    tags, problems = [], []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(RuleProblem(None, f"$[{i}]", "expected an object {tag_id, tag_name, rule}"))
            continue
        tag_id = entry.get("tag_id")
        if not isinstance(tag_id, int) or isinstance(tag_id, bool):
            problems.append(RuleProblem(None, f"$[{i}].tag_id", f"must be an integer (got {tag_id!r})"))
            continue
        if "rule" not in entry:
            problems.append(RuleProblem(tag_id, f"$[{i}].rule", "missing"))
            continue
        tags.append(TagRule(tag_id, str(entry.get("tag_name") or f"tag {tag_id}"), entry["rule"],
                            str(entry.get("category") or "")))
    return tags, problems
