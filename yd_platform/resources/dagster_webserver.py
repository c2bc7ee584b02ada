"""The Dagster webserver (`dagster_webserver`): its public URL (`YD_UI_URL`, required in
production; embedded http://127.0.0.1:3000) for links in alerts, and a small client for
other systems (and operators' scripts) to start yd_platform runs through its GraphQL API.

`RunLauncher` wraps `dagster_graphql.DagsterGraphQLClient`: a run is submitted with the
same partition tags the UI and `dagster job launch` use, then polled until it finishes.
The instance's run coordinator decides when it starts (queued runs wait for the daemon).
The limits runs wait for are Dagster pools (`yd_platform.instance.pools`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import dagster as dg
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from pydantic import Field

from yd_platform.deployment import EMBEDDED_UI_URL, UI_URL_PURPOSE, UI_URL_VARIABLE, Variables, ui_url
from yd_platform.resources.variables import env_field, from_environment

CODE_LOCATION = "yd_platform"
REPOSITORY = "__repository__"
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


class LaunchError(RuntimeError):
    """Submitting or following a run failed; the message names the job and the webserver."""


class RunTimeout(LaunchError, TimeoutError):
    """The run did not finish within the wait; it goes on running."""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: dg.DagsterRunStatus

    @property
    def success(self) -> bool:
        return self.status is dg.DagsterRunStatus.SUCCESS


def partition_tags(partition: str | None) -> dict[str, str]:
    """Tags that make a run target one partition.

    `DATE` for time-partitioned jobs (publish), `DATE|SHOP` for the collect jobs; the
    per-dimension tags are added too, as the UI does for multi-partitioned runs.
    """
    if not partition:
        return {}
    tags = {"dagster/partition": partition}
    if "|" in partition:
        day, shop = partition.split("|", 1)
        if not day or not shop:
            raise LaunchError(f"partition {partition!r}: expected DATE|SHOP, e.g. 2025-10-01|pdd_flagship")
        tags["dagster/partition/date"] = day
        tags["dagster/partition/shop"] = shop
    return tags


class RunLauncher:
    """Submit yd_platform jobs to a webserver and wait for their outcome."""

    def __init__(self, url: str | None = None, *, location: str = CODE_LOCATION,
                 repository: str = REPOSITORY, timeout: int = 60):
        raw = url or ui_url()
        parsed = urlparse(raw if "://" in raw else f"http://{raw}")
        if not parsed.hostname:
            raise LaunchError(f"webserver URL {raw!r} has no host name (e.g. http://127.0.0.1:3000)")
        self.url = raw.rstrip("/")
        self.location = location
        self.repository = repository
        self.client = DagsterGraphQLClient(
            parsed.hostname,
            port_number=parsed.port,
            use_https=parsed.scheme == "https",
            path_prefix=parsed.path.rstrip("/"),
            timeout=timeout,
        )

    def submit(self, job: str, partition: str | None = None,
               tags: Mapping[str, str] | None = None, run_config: Mapping | None = None) -> str:
        """Submit `job` (for one partition, if given); returns the new run id."""
        all_tags = {**partition_tags(partition), **dict(tags or {})}
        try:
            return self.client.submit_job_execution(
                job,
                repository_location_name=self.location,
                repository_name=self.repository,
                run_config=run_config,
                tags=all_tags,
            )
        except DagsterGraphQLClientError as exc:
            raise LaunchError(f"{self.url}: launching {job} {partition or ''} failed: {exc}") from exc

    def status(self, run_id: str) -> dg.DagsterRunStatus:
        try:
            return self.client.get_run_status(run_id)
        except DagsterGraphQLClientError as exc:
            raise LaunchError(f"{self.url}: reading run {run_id} failed: {exc}") from exc

    def wait(self, run_id: str, timeout: float = 600, poll: float = 2.0) -> RunOutcome:
        """Poll until the run finishes; raises RunTimeout after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        status = self.status(run_id)
        while status not in FINISHED:
            if time.monotonic() > deadline:
                raise RunTimeout(f"{self.url}: run {run_id} still {status.value} after {timeout:.0f}s")
            time.sleep(poll)
            status = self.status(run_id)
        return RunOutcome(run_id, status)

    def run(self, job: str, partition: str | None = None, tags: Mapping[str, str] | None = None,
            timeout: float = 600) -> RunOutcome:
        """Submit and wait: the one-call form for scripts."""
        return self.wait(self.submit(job, partition, tags), timeout=timeout)


class DagsterWebserverResource(dg.ConfigurableResource):
    """The webserver of this code location: where the UI is, and its GraphQL API."""

    url: str = Field(default=EMBEDDED_UI_URL, description=f"the UI's public URL ({UI_URL_VARIABLE})")
    timeout_seconds: int = 60

    def launcher(self, location: str = CODE_LOCATION) -> RunLauncher:
        return RunLauncher(self.url, location=location, timeout=self.timeout_seconds)

    def check(self) -> str:
        """The webserver answers (`/server_info`); says its Dagster version. Raises LaunchError."""
        base = self.url.rstrip("/")
        try:
            resp = requests.get(f"{base}/server_info", timeout=5)
            resp.raise_for_status()
            version = resp.json().get("dagster_version", "?")
        except requests.ConnectionError:
            raise LaunchError(f"webserver {base} does not answer") from None
        except requests.Timeout:
            raise LaunchError(f"webserver {base} did not answer within 5 s") from None
        except (requests.RequestException, ValueError) as exc:
            raise LaunchError(f"webserver {base}: {exc.__class__.__name__}: {str(exc)[:200]}") from None
        return f"{base} (dagster {version})"


def dagster_webserver_for(variables: Variables) -> DagsterWebserverResource:
    return DagsterWebserverResource(url=env_field(variables, UI_URL_VARIABLE, UI_URL_PURPOSE,
                                                  embedded=EMBEDDED_UI_URL))


def dagster_webserver_from_env(deployment: str | None = None) -> DagsterWebserverResource:
    """The deployment's webserver with its URL read now (commands, tests)."""
    return from_environment(dagster_webserver_for, deployment)
