"""The one reader of the platform's YAML config files (catalog, alerts and notify,
incentives, tags).

Every file is parsed once, with libyaml's C loader when it is installed (the catalog is
read by every command and every code-location load), and every problem is reported the
same way: ``<file>: <where>: <what>``, raised as the caller's own error class. Duplicate
keys, which plain YAML silently resolves to the last one, are refused with both lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dotted(path: tuple[Any, ...]) -> str:
    """('rules', 0, 'sql') -> "rules[0].sql"; the top level is "top level"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def _refuse_duplicates(node: yaml.Node, source: str, error: type[Exception],
                       where: Callable[[tuple], str], kinds: dict[str, str], path: tuple = ()) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in seen:
                kind = kinds.get(str(path[-1]) if path else "", "key")
                place = where(path if kind == "key" else path[:-1])
                raise error(f"{source}: {place}: duplicate {kind} {key!r} at line {line} "
                            f"(first defined at line {seen[key]})")
            seen[key] = line
            _refuse_duplicates(value_node, source, error, where, kinds, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _refuse_duplicates(item, source, error, where, kinds, (*path, index))


def parse_yaml(text: str, source: str, error: type[Exception] = ValueError, *,
               where: Callable[[tuple], str] = dotted, kinds: dict[str, str] | None = None) -> dict:
    """The mapping in `text` (empty text: {}); `source` names the file in messages.

    `where` turns a key path into words for messages, `kinds` names what the keys under
    a parent key are (e.g. {"datasets": "dataset"}) in duplicate-key messages.
    """
    loader = LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _refuse_duplicates(node, source, error, where, kinds or {})
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{source}: {line}not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{source}: top level: must be a mapping, not {type(data).__name__}")
    return data


def read_yaml(path: str | os.PathLike[str], error: type[Exception] = ValueError, **options) -> dict:
    """`parse_yaml` of a file; a missing or unreadable file is named the same way."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return parse_yaml(text, str(path), error, **options)
