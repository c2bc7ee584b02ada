"""Launch and follow runs on a running Dagster webserver through its GraphQL API."""

from yd_platform.launch.client import (
    LaunchError,
    RunLauncher,
    RunOutcome,
    RunTimeout,
    partition_tags,
)

__all__ = ["LaunchError", "RunLauncher", "RunOutcome", "RunTimeout", "partition_tags"]
