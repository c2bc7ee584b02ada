"""Load `platforms.yaml` into a `Catalog`, turning every mistake into one clear message.

Messages name the file, platform, dataset and field, e.g.
``platforms.yaml: platform 'pdd', dataset 'badscore', field 'cron': invalid cron ...``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from yd_platform.catalog.models import Catalog, Defaults
from yd_platform.catalog.yaml_files import parse_yaml

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "config" / "platforms.yaml"
# What the keys under these are called in duplicate-key messages.
ENTRY_KINDS = {"datasets": "dataset", "platforms": "platform"}


class CatalogError(ValueError):
    """The catalog file is wrong; the message says where."""


def default_catalog_path() -> Path:
    return Path(os.environ.get("YD_CATALOG", DEFAULT_CATALOG))


def _where(loc: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into 'platform 'x', dataset 'y', field 'z''."""
    parts: list[str] = []
    rest = list(loc)
    if rest[:1] == ["platforms"] and len(rest) >= 2:
        parts.append(f"platform {rest[1]!r}")
        rest = rest[2:]
        if rest[:1] == ["datasets"] and len(rest) >= 2:
            parts.append(f"dataset {rest[1]!r}")
            rest = rest[2:]
        elif rest[:1] == ["shops"] and len(rest) >= 2:
            parts.append(f"shop #{rest[1]}")
            rest = rest[2:]
    fields = [str(r) for r in rest if not isinstance(r, int)]
    if fields:
        parts.append(f"field {'.'.join(fields)!r}")
    return ", ".join(parts) or "top level"


def _prepare(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill dataset codes and catalog defaults before validation."""
    defaults = Defaults.model_validate(raw.get("defaults") or {})
    platforms = raw.get("platforms")
    if not isinstance(platforms, dict) or not platforms:
        raise CatalogError("field 'platforms': a mapping of platform code to platform is required")
    for pcode, platform in platforms.items():
        if not isinstance(platform, dict):
            raise CatalogError(f"platform {pcode!r}: must be a mapping")
        platform.setdefault("code", pcode)
        datasets = platform.get("datasets")
        if not isinstance(datasets, dict) or not datasets:
            raise CatalogError(f"platform {pcode!r}, field 'datasets': at least one dataset is required")
        for dcode, ds in datasets.items():
            if not isinstance(ds, dict):
                raise CatalogError(f"platform {pcode!r}, dataset {dcode!r}: must be a mapping")
            fmt = {"platform": pcode, "dataset": dcode}
            ds.setdefault("code", dcode)
            ds.setdefault("platform", pcode)
            ds.setdefault("collector", platform.get("collector") or pcode)
            ds.setdefault("object_path", defaults.object_path.format(**fmt))
            ds.setdefault("table", defaults.table.format(**fmt))
            ds.setdefault("start_date", defaults.start_date)
            ds.setdefault("timezone", defaults.timezone)
            ds.setdefault("owners", platform.get("owners") or defaults.owners)
    return raw


def parse_catalog(text: str, source: str = "platforms.yaml") -> Catalog:
    """Parse catalog YAML text once (C loader, see `yaml_files`); `source` names the file
    in error messages."""
    raw = parse_yaml(text, source, CatalogError, where=_where, kinds=ENTRY_KINDS)
    try:
        return Catalog.model_validate(_prepare(raw))
    except CatalogError as exc:
        raise CatalogError(f"{source}: {exc}") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {_where(err['loc'])}: {msg}")
        raise CatalogError("\n".join(lines)) from None


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Catalog:
    return parse_catalog(Path(path).read_text(encoding="utf-8"), source=path)


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Load and validate the catalog (default: `$YD_CATALOG` or the packaged file)."""
    p = Path(path) if path else default_catalog_path()
    if not p.exists():
        raise CatalogError(f"{p}: catalog file not found")
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
