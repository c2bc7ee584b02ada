"""Earlier partitions come from the dataset's partitions definition, for every cadence."""

import pytest

from yd_platform.catalog import Cadence
from yd_platform.checks.history import previous_key, previous_keys
from yd_platform.datasets.partitions import time_partitions


@pytest.mark.parametrize("cadence", list(Cadence))
def test_previous_partitions_are_the_definitions_own(catalog, cadence):
    ds = next(ds for ds in catalog.datasets() if ds.cadence is cadence)
    keys = time_partitions(ds).get_partition_keys()[:8]
    assert previous_key(ds, keys[0]) is None  # nothing before the first partition
    assert previous_keys(ds, keys[7], 7) == keys[:7][::-1]
    assert previous_keys(ds, keys[2], 7) == [keys[1], keys[0]]
