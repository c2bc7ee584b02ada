"""The Dagster webserver resource's GraphQL launch client: its inputs (the end-to-end run is
in deploy/test_mysql_instance)."""

from __future__ import annotations

import pytest

from yd_platform.resources.dagster_webserver import LaunchError, RunLauncher, partition_tags


def test_time_partition_tags():
    assert partition_tags("2025-10-01") == {"dagster/partition": "2025-10-01"}
    assert partition_tags(None) == {}


def test_multi_partition_tags_carry_each_dimension():
    assert partition_tags("2025-10-01|pdd_flagship") == {
        "dagster/partition": "2025-10-01|pdd_flagship",
        "dagster/partition/date": "2025-10-01",
        "dagster/partition/shop": "pdd_flagship",
    }


def test_half_a_multi_partition_is_refused():
    with pytest.raises(LaunchError, match="DATE\\|SHOP"):
        partition_tags("2025-10-01|")


def test_webserver_url_forms():
    launcher = RunLauncher("https://dagster.example.com/yd/")
    assert launcher.client._url == "https://dagster.example.com/yd/graphql"
    assert launcher.url == "https://dagster.example.com/yd"
    assert RunLauncher("127.0.0.1:3000").client._url == "http://127.0.0.1:3000/graphql"
    with pytest.raises(LaunchError, match="host name"):
        RunLauncher("http://")
