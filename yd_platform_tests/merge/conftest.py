"""The merge tests read their datasets from `catalog.yaml` beside them."""

from pathlib import Path

import pytest

from yd_platform.catalog import Catalog, load_catalog

MERGE_CATALOG = Path(__file__).with_name("catalog.yaml")


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(MERGE_CATALOG)
