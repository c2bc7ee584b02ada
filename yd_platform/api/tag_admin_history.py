"""Each tag's users matched and hit rate over time, from the `user_tags` materializations
the runs recorded in the Dagster instance (metadata `per_tag`, or `tag_<id>_matched`),
read through the webserver's GraphQL API like every other read of the HTTP API.

Runs of the task-users mode are left out: their counts are over the listed users only,
and would show as a drop to almost nothing in a tag's history.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from yd_platform.api.dagster_api import METADATA_ENTRIES, DagsterApi, DagsterQueryError, metadata_value

HISTORY_QUERY = """
query UserTagsHistory($limit: Int) {
  assetOrError(assetKey: {path: ["user_tags"]}) {
    __typename
    ... on Asset {
      assetMaterializations(limit: $limit) {
        runId
        timestamp
        %s
      }
    }
    ... on AssetNotFoundError { message }
  }
}
""" % METADATA_ENTRIES  # noqa: UP031 - GraphQL braces make str.format and f-strings unreadable
MATCHED_LABEL = re.compile(r"^tag_(\d+)_matched$")


def _points(event: dict) -> dict[int, dict[str, Any]]:
    """tag id -> its figures in one materialization."""
    meta = {e["label"]: metadata_value(e) for e in event.get("metadataEntries") or []}
    if meta.get("mode") == "task-users":
        return {}
    when = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC).isoformat(timespec="seconds")
    base = {"time": when, "run_id": event["runId"], "users_evaluated": meta.get("users_evaluated"),
            "mode": meta.get("mode")}
    out: dict[int, dict[str, Any]] = {}
    for row in meta.get("per_tag") or []:
        out[int(row["tag_id"])] = {**base, "users_matched": row.get("users_matched"),
                                   "hit_rate": row.get("hit_rate"), "users_added": row.get("users_added"),
                                   "users_removed": row.get("users_removed")}
    for label, value in meta.items():
        found = MATCHED_LABEL.match(label)
        if found and int(found.group(1)) not in out:
            evaluated = meta.get("users_evaluated")
            out[int(found.group(1))] = {**base, "users_matched": value,
                                        "hit_rate": round(value / evaluated, 4) if evaluated else None}
    return out


def tag_history(api: DagsterApi, limit: int = 60) -> dict[int, list[dict[str, Any]]]:
    """tag id -> points of the newest `limit` materializations, oldest first."""
    result = api.execute(HISTORY_QUERY, {"limit": limit})["assetOrError"]
    if result["__typename"] == "AssetNotFoundError":
        return {}  # no run has materialized user_tags yet
    if result["__typename"] != "Asset":
        raise DagsterQueryError(result.get("message") or result["__typename"])
    history: dict[int, list[dict[str, Any]]] = {}
    events = sorted(result["assetMaterializations"], key=lambda e: int(e["timestamp"]))
    for event in events:
        for tag_id, point in _points(event).items():
            history.setdefault(tag_id, []).append(point)
    return history
