"""`/api/v1/tags/*`: the old tag service's trigger, task status and tag list.

A task is a run of `user_tags_job`; its id is the Dagster run id, so the same run is
found in the UI. Old callers' paths without `/tags` (`/api/v1/tasks/...`) answer too.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.resources.app_db import engine_for
from yd_platform.tags.graphql import JOB, run_config
from yd_platform.tags.store import ensure_tables, load_tags, tag_category, tag_definition

router = APIRouter(tags=["user tags"])

# Dagster run status -> the old service's task status words
TASK_STATUS = {
    "QUEUED": "pending", "NOT_STARTED": "pending", "STARTING": "pending", "MANAGED": "pending",
    "STARTED": "running", "CANCELING": "running",
    "SUCCESS": "completed", "FAILURE": "failed", "CANCELED": "cancelled",
}


class TriggerRequest(BaseModel):
    """task-all: every active tag for every user; task-tags: only `tag_ids` (a user's other
    tags are kept); task-users: only `user_ids` (all tags, or `tag_ids` when given)."""

    mode: Literal["task-all", "task-tags", "task-users"] = Field(
        description="task-all | task-tags | task-users")
    tag_ids: list[int] = Field(default_factory=list, validate_default=True,
                               description="required for task-tags, optional for task-users")
    user_ids: list[str] = Field(default_factory=list, validate_default=True,
                                description="required for task-users")
    today: date | None = Field(default=None, description="the day the feature window ends (recent_days, "
                                                          "snapshots); default: today in Asia/Shanghai")

    @field_validator("tag_ids")
    @classmethod
    def _tags_fit_mode(cls, value: list[int], info: ValidationInfo) -> list[int]:
        mode = info.data.get("mode")
        if mode == "task-tags" and not value:
            raise ValueError("task-tags needs at least one tag id")
        if mode == "task-all" and value:
            raise ValueError("task-all takes no tag ids (use task-tags)")
        return value

    @field_validator("user_ids")
    @classmethod
    def _users_fit_mode(cls, value: list[str], info: ValidationInfo) -> list[str]:
        mode = info.data.get("mode")
        if mode == "task-users" and not value:
            raise ValueError("task-users needs at least one user id")
        if mode != "task-users" and value:
            raise ValueError(f"{mode or 'this mode'} takes no user ids (use task-users)")
        if any(not str(u).strip() for u in value):
            raise ValueError("empty user id")
        return value


def dagster(request: Request) -> DagsterApi:
    return request.app.state.dagster


def app_engine(request: Request) -> sa.Engine:
    return engine_for(request.app.state.settings.app_db_url)


@router.post("/api/v1/tags/trigger", status_code=202)
def trigger(body: TriggerRequest, api: DagsterApi = Depends(dagster)) -> dict[str, Any]:
    """Start a user_tags run; answers at once with its task id (the run id)."""
    submitted = datetime.now(timezone.utc).isoformat(timespec="seconds")
    today = body.today.isoformat() if body.today else None
    run_id = api.submit(JOB, run_config=run_config(body.tag_ids, body.user_ids, today),
                        tags={"yd/trigger": "api", "yd/tags_mode": body.mode})
    return {"success": True, "task_id": run_id, "message": "tag task submitted",
            "data": {"mode": body.mode, "tag_ids": body.tag_ids, "user_ids": body.user_ids,
                     "submitted_at": submitted, "ui_url": f"{api.url}/runs/{run_id}"}}


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds") if seconds else None


def _metadata_value(entry: dict) -> Any:
    for field in ("intValue", "floatValue", "text"):
        if field in entry:
            return entry[field]
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    return None


def _run_config(run: dict) -> dict:
    """The user_tags op config a run was launched with (tag_ids, user_ids)."""
    import yaml

    config = yaml.safe_load(run.get("runConfigYaml") or "") or {}
    return ((config.get("ops") or {}).get("user_tags") or {}).get("config") or {}


def task_view(run: dict) -> dict[str, Any]:
    tags = {t["key"]: t["value"] for t in run.get("tags") or []}
    view: dict[str, Any] = {
        "task_id": run["runId"],
        "status": TASK_STATUS.get(run["status"], run["status"].lower()),
        "dagster_status": run["status"],
        "mode": tags.get("yd/tags_mode"),
        "submitted_at": _iso(run.get("creationTime")),
        "started_at": _iso(run.get("startTime")),
        "completed_at": _iso(run.get("endTime")),
    }
    if "runConfigYaml" in run:
        config = _run_config(run)
        view["tag_ids"] = config.get("tag_ids", [])
        view["user_ids"] = config.get("user_ids", [])
        if not view["mode"]:
            view["mode"] = ("task-users" if view["user_ids"] else "task-tags" if view["tag_ids"] else "task-all")
    for event in run.get("assetMaterializations") or []:
        if event["assetKey"]["path"] == ["user_tags"]:
            view["result"] = {e["label"]: _metadata_value(e) for e in event["metadataEntries"]}
    return view


@router.get("/api/v1/tags/tasks/{task_id}/status")
@router.get("/api/v1/tasks/{task_id}/status", include_in_schema=False)
def task_status(task_id: str, api: DagsterApi = Depends(dagster)) -> dict[str, Any]:
    """Status, start and end times, and once done the run's per-tag counts (`result`)."""
    run = api.run(task_id)
    if run is None or run["jobName"] != JOB:
        raise HTTPException(404, f"task {task_id!r}: no user_tags run with this id")
    return {"success": True, "task_id": task_id, "status": task_view(run)}


@router.get("/api/v1/tags/tasks")
@router.get("/api/v1/tasks", include_in_schema=False)
def recent_tasks(limit: int = Query(20, ge=1, le=500), api: DagsterApi = Depends(dagster)) -> dict[str, Any]:
    """The newest user_tags runs, newest first."""
    tasks = [task_view(run) for run in api.runs(JOB, limit=limit)]
    return {"success": True, "total": len(tasks), "tasks": tasks}


@router.get("/api/v1/tags/available")
def available_tags(engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Active tags with their category and current rule."""
    ensure_tables(engine)
    with engine.connect() as conn:
        categories = {r.category_name: {"category_id": r.category_id, "description": r.description}
                      for r in conn.execute(sa.select(tag_category.c.category_id, tag_category.c.category_name,
                                                      tag_category.c.description))}
        descriptions = dict(conn.execute(sa.select(tag_definition.c.tag_id, tag_definition.c.description)).all())
    tags = [{"tag_id": t.tag_id, "tag_name": t.tag_name, "tag_category": t.category,
             "category_id": categories.get(t.category, {}).get("category_id"),
             "description": descriptions.get(t.tag_id), "rule": t.rule}
            for t in load_tags(engine)]
    return {"success": True, "total": len(tags), "tags": tags,
            "categories": [{"category_name": name, **info} for name, info in sorted(categories.items())]}
