"""The GraphQL trigger helper builds the run config of the three launch modes."""

from yd_platform.tags.graphql import client_for, run_config


def test_run_config_of_the_launch_modes():
    assert run_config() == {"ops": {"user_tags": {"config": {"tag_ids": [], "user_ids": []}}}}
    assert run_config([1, 3]) == {"ops": {"user_tags": {"config": {"tag_ids": [1, 3], "user_ids": []}}}}
    assert run_config([5], ["u1", 2], "2025-10-02")["ops"]["user_tags"]["config"] == {
        "tag_ids": [5], "user_ids": ["u1", "2"], "today": "2025-10-02"}


def test_client_for_parses_the_webserver_url():
    client = client_for("https://dagster.example.com:8443/ops")
    assert client._url == "https://dagster.example.com:8443/ops/graphql"
