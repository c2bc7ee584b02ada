"""The merge tests read their datasets from `catalog.yaml` beside them."""

import pytest

from yd_platform.catalog import Catalog, load_catalog
from yd_platform_tests.merge.files import MERGE_CATALOG


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(MERGE_CATALOG)
