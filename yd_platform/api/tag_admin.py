"""The tag page: where operations and marketing people list, write, try, switch on and off
and run the user tags, served by the HTTP API app at `/tags/admin`.

The page is static (`static/tag_admin.*`: no build step, nothing from outside the API)
and calls the JSON endpoints below `/api/v1/tags/admin/`, sending the key it asked for in
the `X-API-Key` header. Each endpoint uses what the rest of the platform uses, so the page
is another way in, not another set of rules:

- a tag is written by `tags.tables` (`create_tag`, `edit_tag`, `set_tag_active`) after the
  rule validator (`tags.rules.validate`) accepted it against tags.yaml's features, with an
  audit row naming the key's holder (`tag_admin_auth`);
- a draft is tried by the runs' engine on the real feature source (`tag_admin_trial`);
- a run is the API's own trigger (`POST /api/v1/tags/trigger`, task-tags) and is followed
  with its task status; the history of each tag comes from the instance (`tag_admin_history`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from yd_platform.api import tags as tags_api
from yd_platform.api.dagster_api import DagsterApi
from yd_platform.api.tag_admin_auth import require_actor
from yd_platform.api.tag_admin_form import form_spec
from yd_platform.api.tag_admin_history import tag_history
from yd_platform.api.tag_admin_trial import MAX_SAMPLE, Draft, SparkForTrials, TrialRejected, try_rule
from yd_platform.catalog import Catalog, load_catalog
from yd_platform.resources.object_store import object_store_from_env
from yd_platform.tags.config import TagsConfig, TagsConfigError, load_tags_config
from yd_platform.tags.features.config import feature_schema
from yd_platform.tags.rules.validate import RuleProblem, check_rule
from yd_platform.tags.tables import (
    TagConflict,
    TagNotFound,
    TagWriteError,
    create_tag,
    edit_tag,
    ensure_tables,
    last_changes,
    list_tag_definitions,
    read_tag,
    set_tag_active,
    tag_audit_rows,
    tag_category,
)

STATIC = Path(__file__).resolve().parent / "static"
PAGE_FILES = {"tag_admin.js": "text/javascript", "tag_admin.css": "text/css"}
# The page runs only its own files and talks only to this API.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
PREFIX = "/api/v1/tags/admin"
log = logging.getLogger(__name__)

page_router = APIRouter(tags=["tag page"], include_in_schema=False)
json_router = APIRouter(prefix=PREFIX, tags=["tag page"], dependencies=[Depends(require_actor)])


@page_router.get("/tags/admin")
def page() -> FileResponse:
    """The page itself (no key needed: it holds no data, and asks for the key)."""
    return FileResponse(STATIC / "tag_admin.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@page_router.get("/tags/admin/static/{name}")
def page_file(name: str) -> FileResponse:
    if name not in PAGE_FILES:
        raise HTTPException(404, f"{name}: no such file of the tag page")
    return FileResponse(STATIC / name, media_type=f"{PAGE_FILES[name]}; charset=utf-8", headers=PAGE_HEADERS)


@dataclass
class TagSetup:
    """tags.yaml and the catalog as the API process read them, with the feature schema the
    rules are checked against and the Spark session tries run in."""

    catalog: Catalog
    config: TagsConfig
    schema: dict[str, str]
    form: dict[str, Any]
    trials: SparkForTrials


_setup_lock = threading.Lock()


def tag_setup(request: Request) -> TagSetup:
    state = request.app.state
    with _setup_lock:
        found = getattr(state, "tag_setup", None)
        if found is None:
            try:
                catalog = load_catalog()
                config = load_tags_config(catalog=catalog)
                found = TagSetup(catalog, config, feature_schema(config.source, catalog),
                                 form_spec(config.source, catalog), SparkForTrials(config))
            except TagsConfigError as exc:
                raise HTTPException(503, f"the tag configuration cannot be read: {exc}") from None
            state.tag_setup = found
    return found


def app_engine(request: Request) -> sa.Engine:
    return tags_api.app_engine(request)


def _utc(value: datetime | None) -> str | None:
    """Naive UTC from the database, as ISO 8601 with its zone (the page shows local time)."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _problem(p: RuleProblem) -> dict[str, Any]:
    return {"tag_id": p.tag_id, "path": p.path, "message": p.message}


def _refused(exc: TagWriteError) -> HTTPException:
    status = 404 if isinstance(exc, TagNotFound) else 409 if isinstance(exc, TagConflict) else 422
    return HTTPException(status, {"message": str(exc), "field": exc.field,
                                  "problems": [_problem(p) for p in exc.problems]})


def _tag_json(view: dict, schema: dict[str, str], changes: dict[int, dict] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in view.items() if k != "created_date"}
    out["created_date"] = _utc(view["created_date"])
    out["problems"] = ([] if view["rule"] is None else
                       [_problem(p) for p in check_rule(view["tag_id"], view["rule"], schema)])
    change = (changes or {}).get(view["tag_id"])
    out["last_change"] = None if change is None else {**change, "changed_at": _utc(change["changed_at"])}
    return out


def _today(setup: TagSetup, day: date | None) -> date:
    return day or datetime.now(ZoneInfo(setup.config.timezone)).date()


class RuleBody(BaseModel):
    rule: Any = Field(description="the rule JSON: a group {logic, conditions} or one condition")
    tag_id: int | None = Field(default=None, description="the tag the rule is for, named in the problems")


class TagBody(BaseModel):
    tag_name: str = Field(description="the name people see")
    category: str = Field(default="", description="a category name; a new one is created")
    description: str = ""
    rule: Any = Field(description="the rule JSON")


class CreateBody(TagBody):
    tag_id: int | None = Field(default=None, gt=0, lt=2**31, description="empty: the next free id")
    is_active: bool = Field(default=True, description="computed by the next runs from now on")


class EditBody(TagBody):
    base_version: str | None = Field(default=None, description="the `version` the edit starts from; a tag "
                                                                 "changed since is refused with 409")


class StateBody(BaseModel):
    base_version: str | None = None


class TryBody(BaseModel):
    rule: Any
    tag_id: int | None = Field(default=None, description="the tag being edited: its saved rule is compared")
    today: date | None = Field(default=None, description="the day of the feature window; default today")
    sample_size: int = Field(default=20, ge=1, le=MAX_SAMPLE)


class RunBody(BaseModel):
    tag_ids: list[int] = Field(min_length=1, description="the tags to compute (task-tags)")
    today: date | None = None


@json_router.get("/me")
def me(actor: str = Depends(require_actor)) -> dict[str, Any]:
    """Who the key belongs to, as the audit will name them."""
    return {"actor": actor}


@json_router.get("/form")
def form(setup: TagSetup = Depends(tag_setup), engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """What the rule form offers: features with types, operators per type, categories."""
    ensure_tables(engine)
    with engine.connect() as conn:
        categories = [r.category_name for r in conn.execute(
            sa.select(tag_category.c.category_name).order_by(tag_category.c.category_id))]
    return {**setup.form, "categories": categories, "today": _today(setup, None).isoformat(),
            "timezone": setup.config.timezone, "max_sample": MAX_SAMPLE}


@json_router.get("/tags")
def list_tags(setup: TagSetup = Depends(tag_setup), engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Every tag, active or not, with its current rule, the rule's problems and its last change."""
    changes = last_changes(engine)
    tags = [_tag_json(view, setup.schema, changes) for view in list_tag_definitions(engine)]
    return {"total": len(tags), "tags": tags}


@json_router.get("/tags/{tag_id}")
def get_tag(tag_id: int, setup: TagSetup = Depends(tag_setup), engine: sa.Engine = Depends(app_engine)) -> dict:
    try:
        view = read_tag(engine, tag_id)
    except TagWriteError as exc:
        raise _refused(exc) from None
    return _tag_json(view, setup.schema, last_changes(engine))


@json_router.post("/validate")
def validate(body: RuleBody, setup: TagSetup = Depends(tag_setup)) -> dict[str, Any]:
    """The validator's verdict on a draft (nothing is saved): problems with JSON paths."""
    problems = check_rule(body.tag_id, body.rule, setup.schema)
    return {"ok": not problems, "problems": [_problem(p) for p in problems]}


@json_router.post("/tags", status_code=201)
def create(body: CreateBody, actor: str = Depends(require_actor), setup: TagSetup = Depends(tag_setup),
           engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    try:
        view = create_tag(engine, setup.schema, actor, body.tag_name, body.rule, category=body.category,
                          description=body.description, active=body.is_active, tag_id=body.tag_id)
    except TagWriteError as exc:
        raise _refused(exc) from None
    return {"changed": True, "tag": _tag_json(view, setup.schema, last_changes(engine))}


@json_router.put("/tags/{tag_id}")
def edit(tag_id: int, body: EditBody, actor: str = Depends(require_actor), setup: TagSetup = Depends(tag_setup),
         engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    try:
        view, changed = edit_tag(engine, setup.schema, actor, tag_id, body.tag_name, body.rule,
                                 category=body.category, description=body.description,
                                 base_version=body.base_version)
    except TagWriteError as exc:
        raise _refused(exc) from None
    return {"changed": changed, "tag": _tag_json(view, setup.schema, last_changes(engine))}


def _switch(tag_id: int, active: bool, body: StateBody, actor: str, setup: TagSetup, engine: sa.Engine) -> dict:
    try:
        view, changed = set_tag_active(engine, setup.schema, actor, tag_id, active, base_version=body.base_version)
    except TagWriteError as exc:
        raise _refused(exc) from None
    return {"changed": changed, "tag": _tag_json(view, setup.schema, last_changes(engine))}


@json_router.post("/tags/{tag_id}/activate")
def activate(tag_id: int, body: StateBody | None = None, actor: str = Depends(require_actor),
             setup: TagSetup = Depends(tag_setup), engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Computed by the next runs; refused while its rule does not pass the validator."""
    return _switch(tag_id, True, body or StateBody(), actor, setup, engine)


@json_router.post("/tags/{tag_id}/deactivate")
def deactivate(tag_id: int, body: StateBody | None = None, actor: str = Depends(require_actor),
               setup: TagSetup = Depends(tag_setup), engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Left out of the next runs; users keep the tag until a run removes it."""
    return _switch(tag_id, False, body or StateBody(), actor, setup, engine)


@json_router.post("/try")
def try_draft(body: TryBody, setup: TagSetup = Depends(tag_setup),
              engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """The draft on the real feature source in Spark: matched count, a sample, and the
    users it would add and remove compared with the tag's saved rule. Nothing is saved."""
    problems = check_rule(body.tag_id, body.rule, setup.schema)
    if problems:
        raise _refused(TagWriteError("; ".join(map(str, problems)), field="rule", problems=problems))
    saved = None
    if body.tag_id is not None:
        try:
            saved = read_tag(engine, body.tag_id)["rule"]
        except TagNotFound:
            saved = None  # a tag being created: nothing to compare with
    draft = Draft(rule=body.rule, tag_id=body.tag_id, saved_rule=saved, today=_today(setup, body.today),
                  sample_size=body.sample_size)
    try:
        return try_rule(setup.trials, setup.catalog, object_store_from_env().client(), draft)
    except TrialRejected as exc:
        raise _refused(TagWriteError(str(exc), field="rule", problems=exc.problems)) from None
    except Exception as exc:  # Spark's and the object store's errors, said to the person who tried
        log.exception("trying a rule failed")
        first_line = (str(exc).strip().splitlines() or [""])[0][:500]
        raise HTTPException(500, {"message": f"the try failed: {type(exc).__name__}: {first_line}",
                                  "field": "", "problems": []}) from None


@json_router.get("/history")
def history(limit: int = Query(60, ge=1, le=500), api: DagsterApi = Depends(tags_api.dagster)) -> dict[str, Any]:
    """Per tag, users matched and hit rate of the newest `limit` user_tags runs, oldest first."""
    found = tag_history(api, limit)
    return {"runs_read": limit, "tags": {str(tag_id): points for tag_id, points in sorted(found.items())}}


@json_router.get("/audit")
def audit(tag_id: int | None = None, limit: int = Query(100, ge=1, le=1000),
          engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """Who changed which tag when, newest first, with the tag before and after."""
    rows = [{**r, "changed_at": _utc(r["changed_at"])} for r in tag_audit_rows(engine, tag_id, limit)]
    return {"total": len(rows), "rows": rows}


@json_router.post("/runs", status_code=202)
def start_run(body: RunBody, request: Request, api: DagsterApi = Depends(tags_api.dagster),
              engine: sa.Engine = Depends(app_engine)) -> dict[str, Any]:
    """A user_tags run of these tags, started by the API's own trigger
    (`POST /api/v1/tags/trigger` with mode task-tags), so it is the same run."""
    views = {v["tag_id"]: v for v in list_tag_definitions(engine)}
    missing = sorted(t for t in set(body.tag_ids) if t not in views)
    inactive = sorted(t for t in set(body.tag_ids) if t in views and not views[t]["is_active"])
    if missing or inactive:
        parts = ([f"no tag {', '.join(map(str, missing))}"] if missing else []) + (
            [f"tag {', '.join(map(str, inactive))} is inactive (activate it first)"] if inactive else [])
        raise HTTPException(422, {"message": "; ".join(parts), "field": "tag_ids", "problems": []})
    trigger_body = {"mode": "task-tags", "tag_ids": sorted(set(body.tag_ids))}
    if body.today:
        trigger_body["today"] = body.today.isoformat()
    return tags_api.trigger(body=trigger_body, api=api, engine=engine, env=tags_api.environment(request))


@json_router.get("/runs/{task_id}")
def run_status(task_id: str, request: Request, api: DagsterApi = Depends(tags_api.dagster)) -> dict[str, Any]:
    """The run's task status, as `GET /api/v1/tags/tasks/{task_id}/status` answers it."""
    return tags_api.task_status(task_id=task_id, api=api, env=tags_api.environment(request))


router = APIRouter()
router.include_router(page_router)
router.include_router(json_router)
