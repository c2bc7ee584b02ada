"""The merge tests read their datasets from `catalog.yaml` beside them."""

import pytest

from yd_platform.catalog import Catalog


@pytest.fixture
def catalog(merge_catalog) -> Catalog:
    """The merge tests' fixed catalog in place of the shipped one."""
    return merge_catalog
