"""Tag rules written the way the tag page and the old tag service send them: a group of
conditions (AND/OR) whose conditions are leaves or groups."""

from __future__ import annotations


def leaf(field: str, operator: str, value=None, type_: str = "number") -> dict:
    """One condition on a feature column; without a value (`is_null`) it has no "value"."""
    node = {"field": field, "operator": operator, "type": type_}
    if value is not None:
        node["value"] = value
    return node


def rule(*conditions: dict, logic: str = "AND") -> dict:
    """A group of `conditions` joined by `logic`."""
    return {"logic": logic, "conditions": list(conditions)}


def at_least(field: str, value: int) -> dict:
    """The rule `field >= value` over a number column."""
    return rule(leaf(field, ">=", value))
