"""A user_tags run seen as the old tag service's task: its fields and lifecycle words.

The old service's task (and its callers' polling loops) know four words: `submitted`,
`running`, `completed`, `failed`; a caller polls until `completed` or `failed`. A
Dagster run is mapped onto them: queued or starting is `submitted`, a cancelled run is
`failed` (its `error` says it was cancelled), so every run ends in a word the old
callers stop on. `dagster_status` keeps the run's own status for new callers.

Old fields: task_id, tag_ids, user_ids, mode, environment, status, submitted_at,
started_at, completed_at, error, result (`total_users`, `message`). Added: scope (the
task word: task-all / task-tags / task-users), dagster_status, ui_url, and in `result`
the run's figures (users evaluated, matched users, rows inserted/updated, per-tag counts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from yd_platform.api.dagster_api import DagsterApi, metadata_value

SUBMITTED, RUNNING, COMPLETED, FAILED = "submitted", "running", "completed", "failed"

# Dagster run status -> the old service's task status word
TASK_STATUS = {
    "QUEUED": SUBMITTED, "NOT_STARTED": SUBMITTED, "STARTING": SUBMITTED, "MANAGED": SUBMITTED,
    "STARTED": RUNNING, "CANCELING": RUNNING,
    "SUCCESS": COMPLETED, "FAILURE": FAILED, "CANCELED": FAILED,
}
DAGSTER_STATUSES = {word: tuple(s for s, w in TASK_STATUS.items() if w == word)
                    for word in (SUBMITTED, RUNNING, COMPLETED, FAILED)}

MODE_TAG, REQUEST_MODE_TAG = "yd/tags_mode", "yd/request_mode"
OLD_MODES = ("full", "incremental")


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds") if seconds else None


def _op_config(run: dict) -> dict:
    """The user_tags op config a run was launched with (tag_ids, user_ids, today)."""
    config = yaml.safe_load(run.get("runConfigYaml") or "") or {}
    return ((config.get("ops") or {}).get("user_tags") or {}).get("config") or {}


def _result(run: dict) -> dict[str, Any]:
    """The run's figures, with the old `total_users` (users carrying a computed tag) and `message`."""
    for event in run.get("assetMaterializations") or []:
        if event["assetKey"]["path"] == ["user_tags"]:
            figures = {e["label"]: metadata_value(e) for e in event["metadataEntries"]}
            total = int(figures.get("matched_users") or 0)
            return {"total_users": total, "message": f"Successfully processed {total} users", **figures}
    return {"total_users": 0, "message": "No results"}


def task_view(run: dict, api: DagsterApi, environment: str) -> dict[str, Any]:
    """The old task dict of a run (with the additions above)."""
    tags = {t["key"]: t["value"] for t in run.get("tags") or []}
    config = _op_config(run)
    tag_ids, user_ids = list(config.get("tag_ids") or []), list(config.get("user_ids") or [])
    scope = tags.get(MODE_TAG) or ("task-users" if user_ids else "task-tags" if tag_ids else "task-all")
    mode = tags.get(REQUEST_MODE_TAG) or scope
    status = TASK_STATUS.get(run["status"], run["status"].lower())
    view: dict[str, Any] = {
        "task_id": run["runId"],
        "tag_ids": tag_ids,
        "user_ids": user_ids or (None if mode in OLD_MODES else []),
        "mode": mode,
        "environment": environment,
        "status": status,
        "submitted_at": _iso(run.get("creationTime")),
        "started_at": _iso(run.get("startTime")),
        "completed_at": _iso(run.get("endTime")),
        "error": None,
        "result": _result(run) if status == COMPLETED else None,
        "scope": scope,
        "dagster_status": run["status"],
        "ui_url": f"{api.url}/runs/{run['runId']}",
    }
    if run["status"] == "CANCELED":
        view["error"] = "the run was cancelled"
    elif run["status"] == "FAILURE":
        view["error"] = api.failure(run["runId"]) or "the run failed (see ui_url)"
    return view
