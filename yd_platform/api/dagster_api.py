"""What the API asks the Dagster webserver, all through its GraphQL endpoint.

Runs are submitted with the project's `RunLauncher` (DagsterGraphQLClient underneath);
reads that the client has no method for (a run's times and materialisations, recent
runs of a job, daemon health, schedules' next ticks) are plain GraphQL queries here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from yd_platform.resources.dagster_webserver import CODE_LOCATION, REPOSITORY, LaunchError, RunLauncher


class DagsterUnavailable(RuntimeError):
    """The webserver did not answer; the message names its URL."""


class DagsterQueryError(RuntimeError):
    """The webserver answered with an error."""


RUN_FIELDS = """
  runId jobName status creationTime startTime endTime
  tags { key value }
"""

# the metadata entries the API reads back (numbers, JSON, text), decoded by `metadata_value`
METADATA_ENTRIES = """
    metadataEntries {
      label
      __typename
      ... on IntMetadataEntry { intValue }
      ... on FloatMetadataEntry { floatValue }
      ... on JsonMetadataEntry { jsonString }
      ... on TextMetadataEntry { text }
    }
"""

RUN_DETAILS = """
  runConfigYaml
  assetMaterializations {
    assetKey { path }
    %s
  }
""" % METADATA_ENTRIES  # noqa: UP031 - GraphQL braces make str.format and f-strings unreadable


def metadata_value(entry: Mapping[str, Any]) -> Any:
    """The value of one entry of `METADATA_ENTRIES` (JSON decoded; None for other kinds)."""
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    for key in ("intValue", "floatValue", "text"):
        if key in entry:
            return entry[key]
    return None

RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { %s %s }
    ... on PythonError { message }
  }
}
""" % (RUN_FIELDS, RUN_DETAILS)  # noqa: UP031 - GraphQL braces make str.format and f-strings unreadable

RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { %s } }
    ... on PythonError { message }
  }
}
"""

# why a run failed: the step failures' and the run failure's messages
FAILURE_QUERY = """
query Failure($runId: ID!, $limit: Int) {
  logsForRun(runId: $runId, limit: $limit) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey message error { message } }
        ... on RunFailureEvent { message }
      }
    }
  }
}
"""

HEALTH_QUERY = """
query Health {
  version
  instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } }
}
"""

SCHEDULES_QUERY = """
query Schedules($selector: RepositorySelector!) {
  schedulesOrError(repositorySelector: $selector) {
    __typename
    ... on Schedules {
      results {
        name cronSchedule executionTimezone pipelineName
        scheduleState { status }
        futureTicks(limit: 1) { results { timestamp } }
      }
    }
    ... on PythonError { message }
  }
}
"""


class DagsterApi:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        try:
            response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise DagsterUnavailable(f"the Dagster webserver at {self.url} is not reachable "
                                     f"({type(exc).__name__}); is it running?") from exc
        if response.status_code >= 500:
            raise DagsterUnavailable(f"the Dagster webserver at {self.url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise DagsterUnavailable(f"{self.url}/graphql did not answer JSON (HTTP {response.status_code}); "
                                     "is YD_UI_URL the Dagster webserver?") from exc
        if body.get("errors"):
            raise DagsterQueryError("; ".join(e.get("message", str(e)) for e in body["errors"]))
        return body["data"]

    def run(self, run_id: str) -> dict | None:
        """The run, or None when the instance has no run with that id."""
        result = self.execute(RUN_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] == "Run":
            return result
        if result["__typename"] == "RunNotFoundError":
            return None
        raise DagsterQueryError(result.get("message") or result["__typename"])

    def runs(self, job: str | None = None, limit: int = 20, tags: Mapping[str, str] | None = None,
             statuses: tuple[str, ...] = (), details: bool = False) -> list[dict]:
        """Newest runs first, of one job and/or with the given tags and statuses; `details`
        adds each run's config and materialisations."""
        run_filter: dict[str, Any] = {}
        if job:
            run_filter["pipelineName"] = job
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if statuses:
            run_filter["statuses"] = list(statuses)
        fields = RUN_FIELDS + (RUN_DETAILS if details else "")
        result = self.execute(RUNS_QUERY % fields, {"filter": run_filter, "limit": limit})["runsOrError"]
        if result["__typename"] != "Runs":
            raise DagsterQueryError(result.get("message") or result["__typename"])
        return result["results"]

    def failure(self, run_id: str, limit: int = 10_000) -> str | None:
        """What made a failed run fail, in the words of its failure events (None if none)."""
        result = self.execute(FAILURE_QUERY, {"runId": run_id, "limit": limit})["logsForRun"]
        if result["__typename"] != "EventConnection":
            return None
        messages = []
        for event in result["events"]:
            if event["__typename"] == "ExecutionStepFailureEvent":
                reason = (event.get("error") or {}).get("message") or event["message"]
                messages.append(f"{event.get('stepKey') or 'step'}: {reason.strip()}")
            elif event["__typename"] == "RunFailureEvent" and not messages:
                messages.append(event["message"].strip())
        return "; ".join(dict.fromkeys(messages)) or None

    def daemon_health(self) -> dict:
        data = self.execute(HEALTH_QUERY)
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return {"version": data["version"],
                "daemons": {s["daemonType"]: s["healthy"] for s in statuses if s["required"]}}

    def schedules(self) -> list[dict]:
        selector = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY}
        result = self.execute(SCHEDULES_QUERY, {"selector": selector})["schedulesOrError"]
        if result["__typename"] != "Schedules":
            raise DagsterQueryError(result.get("message") or result["__typename"])
        return result["results"]

    def submit(self, job: str, run_config: Mapping | None = None, tags: Mapping[str, str] | None = None,
               partition: str | None = None) -> str:
        """Submit a run; a webserver that is down is DagsterUnavailable, anything else LaunchError."""
        try:
            return RunLauncher(self.url, timeout=int(self.timeout)).submit(job, partition=partition, tags=tags,
                                                                            run_config=run_config)
        except Exception as exc:  # the client raises its own errors, or requests' on a dead server
            try:
                self.execute("query { version }")
            except DagsterUnavailable as down:
                raise down from exc
            if isinstance(exc, LaunchError):
                raise
            raise LaunchError(f"{self.url}: launching {job} failed: {exc}") from exc
