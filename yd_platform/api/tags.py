"""`/api/v1/tags/*`: the old tag service's trigger, task status, task list and tag list.

A task is a run of `user_tags_job`; its id is the Dagster run id, so the same run is
found in the UI. The old service's paths (`/api/v1/tasks/...`) answer as before, with
its response shapes, field names and status words (task_status.py); the bodies it
accepted are accepted with the same meaning (trigger_body.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from yd_platform.api.dagster_api import DagsterApi
from yd_platform.api.task_status import DAGSTER_STATUSES, MODE_TAG, REQUEST_MODE_TAG, task_view
from yd_platform.api.trigger_body import Refusal, TriggerRequest, parse_trigger, read_json, refuse_unknown_tags
from yd_platform.resources.app_db import engine_for
from yd_platform.tags.tables import ensure_tables, load_tags, tag_category, tag_definition
from yd_platform.tags.wiring.graphql_trigger import JOB, run_config

router = APIRouter(tags=["user tags"])
SUBMITTED_MESSAGE = "标签任务已成功提交"
# every tag is computed by the one rule evaluation of this job (the old list named a class per tag)
TASK_CLASS = JOB


def dagster(request: Request) -> DagsterApi:
    return request.app.state.dagster


def app_engine(request: Request) -> sa.Engine:
    return engine_for(request.app.state.settings.app_db_url)


def environment(request: Request) -> str:
    return request.app.state.settings.environment


async def trigger_body(request: Request) -> Any:
    return await read_json(request)


@router.post("/api/v1/tags/trigger", status_code=202, openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": TriggerRequest.model_json_schema()}}}})
def trigger(body: Any = Depends(trigger_body), api: DagsterApi = Depends(dagster),
            engine: sa.Engine = Depends(app_engine), env: str = Depends(environment)) -> dict[str, Any]:
    """Start a user_tags run; answers at once with its task id (the run id).

    Nothing is submitted unless every tag id is an active tag with an active rule."""
    task = parse_trigger(body)
    if task.tag_ids:
        refuse_unknown_tags(task, [t.tag_id for t in load_tags(engine)])
    submitted = datetime.now(UTC).isoformat(timespec="seconds")
    run_id = api.submit(JOB, run_config=run_config(task.tag_ids, task.user_ids,
                                                   task.today.isoformat() if task.today else None),
                        tags={"yd/trigger": "api", MODE_TAG: task.scope, REQUEST_MODE_TAG: task.mode})
    return {"success": True, "task_id": run_id, "message": SUBMITTED_MESSAGE,
            "data": {"tag_ids": task.tag_ids, "user_ids": task.user_ids, "mode": task.mode, "scope": task.scope,
                     "environment": env, "submitted_at": submitted, "ui_url": f"{api.url}/runs/{run_id}"}}


@router.get("/api/v1/tags/tasks/{task_id}/status")
@router.get("/api/v1/tasks/{task_id}/status", include_in_schema=False)
def task_status(task_id: str, api: DagsterApi = Depends(dagster), env: str = Depends(environment)) -> dict[str, Any]:
    """Status (submitted / running / completed / failed), times, `error` when it failed,
    and once completed the run's figures (`result`)."""
    run = api.run(task_id)
    if run is None or run["jobName"] != JOB:
        raise Refusal(404, "Task not found", "任务不存在", detail=f"task {task_id!r}: no user_tags run with this id")
    return {"success": True, "task_id": task_id, "status": task_view(run, api, env)}


@router.get("/api/v1/tags/tasks")
@router.get("/api/v1/tasks", include_in_schema=False)
def recent_tasks(limit: int = Query(50, ge=1, le=500),
                 status: Literal["submitted", "running", "completed", "failed"] | None = Query(
                     None, description="only tasks in this state"),
                 api: DagsterApi = Depends(dagster), env: str = Depends(environment)) -> dict[str, Any]:
    """The newest user_tags runs, newest first."""
    runs = api.runs(JOB, limit=limit, statuses=DAGSTER_STATUSES[status] if status else (), details=True)
    tasks = [task_view(run, api, env) for run in runs]
    return {"success": True, "total": len(tasks), "tasks": tasks}


@router.get("/api/v1/tags/available")
def available_tags(engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Active tags with their category and current rule: `available_tags` in the old
    service's item fields, `tags` and `categories` in full."""
    ensure_tables(engine)
    with engine.connect() as conn:
        categories = {r.category_name: {"category_id": r.category_id, "description": r.description}
                      for r in conn.execute(sa.select(tag_category.c.category_id, tag_category.c.category_name,
                                                      tag_category.c.description))}
        descriptions = dict(conn.execute(sa.select(tag_definition.c.tag_id, tag_definition.c.description)).all())
    active = load_tags(engine)
    tags = [{"tag_id": t.tag_id, "tag_name": t.tag_name, "tag_category": t.category,
             "category_id": categories.get(t.category, {}).get("category_id"),
             "description": descriptions.get(t.tag_id), "rule": t.rule}
            for t in active]
    old_items = [{"tag_id": t.tag_id, "task_class": TASK_CLASS, "description": t.tag_name, "category": t.category}
                 for t in active]
    return {"success": True, "total": len(tags), "available_tags": old_items, "tags": tags,
            "categories": [{"category_name": name, **info} for name, info in sorted(categories.items())]}
