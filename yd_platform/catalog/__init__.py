"""The platform catalog: one YAML file describing platforms, shops and datasets.

Everything else (assets, schedules, checks, the plan command) is generated from the
typed models loaded here, so adding a dataset is a config entry, not new code.
"""

from yd_platform.catalog.loader import CatalogError, default_catalog_path, load_catalog
from yd_platform.catalog.models import (
    Cadence,
    Catalog,
    ColumnSpec,
    DatasetSpec,
    PlatformSpec,
    ShopSpec,
)

__all__ = [
    "Cadence",
    "Catalog",
    "CatalogError",
    "ColumnSpec",
    "DatasetSpec",
    "PlatformSpec",
    "ShopSpec",
    "default_catalog_path",
    "load_catalog",
]
