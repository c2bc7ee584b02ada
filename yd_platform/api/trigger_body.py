"""The body of `POST /api/v1/tags/trigger`: both the old tag service's and the new modes,
checked before anything is submitted.

Two kinds of callers send it:

* old callers: `{"tag_ids": [1, 2], "user_ids": [...]?, "mode": "full" | "incremental"?}`.
  Tag ids alone = those tags for every user (task-tags), with user ids = those users
  (task-users). The old service recorded `mode` and computed the same thing for both
  words, so `incremental` runs exactly like `full` (a run writes only the users whose
  tags change either way). Refusals keep the old service's shape: 400
  `{"success": false, "error", "message"}`, plus `field` naming what is wrong.
* new callers: `{"mode": "task-all" | "task-tags" | "task-users", ...}`. Refusals are
  FastAPI's 422 with the field in `detail[].loc`.

A body is new-style when its `mode` is one of the three task words; every other body is
answered as the old service answered it.

Ids reach a Dagster run config and then SQL and Spark, so they are held to what the tag
tables can hold. A tag id is a JSON integer 1..2^31-1 (`tag_definition.tag_id` is an INT),
or a float with no fraction such as 1.0, at most MAX_TAG_IDS of them. Strings ("1") are
refused as the old service refused them (it found "1" in no tag list); so is `true`,
which it took for tag 1 only because Python has True == 1. A user id is a JSON string of
1..USER_ID_LENGTH characters (the `user_tags.user_id` column), not only spaces, without
control characters (NUL, newline, tab, DEL, C1) or lone surrogates, at most MAX_USER_IDS
of them.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from yd_platform.tags.tables import USER_ID_LENGTH

NEW_MODES = ("task-all", "task-tags", "task-users")
OLD_MODES = ("full", "incremental")
TAG_ID_MAX = 2**31 - 1
MAX_TAG_IDS = 1_000
MAX_USER_IDS = 10_000
MAX_BODY_BYTES = 8 * 1024 * 1024
JSON_TYPES = ("application/json",)


class Refusal(Exception):
    """An answer in the old tag service's error shape: `{"success": false, "error", "message", ...}`."""

    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(error)
        self.status, self.body = status, {"success": False, "error": error, "message": message, **extra}


def _user_id(value: str) -> str:
    if not value.strip():
        raise ValueError("empty user id (only spaces)")
    for position, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Cs"):
            kind = "lone surrogate" if unicodedata.category(char) == "Cs" else "control character"
            raise ValueError(f"{kind} U+{ord(char):04X} at position {position}")
    return value


def _integral(value: Any) -> Any:
    """1.0 is tag 1, as it was to the old service (its tag list held 1.0 == 1); 1.5 stays a float."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


TagId = Annotated[int, BeforeValidator(_integral), Strict(), Field(ge=1, le=TAG_ID_MAX)]
UserId = Annotated[str, Strict(), Field(min_length=1, max_length=USER_ID_LENGTH), AfterValidator(_user_id)]


class TriggerRequest(BaseModel):
    """Old callers: `tag_ids` (required), `user_ids` (optional), `mode` full | incremental
    (optional, default full). New modes: task-all = every active tag for every user;
    task-tags = only `tag_ids` (a user's other tags are kept); task-users = only `user_ids`
    (all tags, or `tag_ids` when given)."""

    mode: Literal["full", "incremental", "task-all", "task-tags", "task-users"] = Field(
        default="full", description="full | incremental (old callers: same computation) | task-all | "
                                    "task-tags | task-users")
    tag_ids: list[TagId] | None = Field(
        default=None, validate_default=True, max_length=MAX_TAG_IDS,
        description=f"tag ids (JSON integers 1..{TAG_ID_MAX}); required for full/incremental and task-tags")
    user_ids: list[UserId] | None = Field(
        default=None, validate_default=True, max_length=MAX_USER_IDS,
        description=f"user ids (strings of 1..{USER_ID_LENGTH} characters, no control characters); "
                    "required for task-users, optional for full/incremental")
    today: date | None = Field(default=None, description="the day the feature window ends (recent_days, "
                                                          "snapshots); default: today in Asia/Shanghai")

    @field_validator("mode", mode="before")
    @classmethod
    def _absent_mode_is_full(cls, value: Any) -> Any:
        return "full" if value is None else value

    @field_validator("tag_ids")
    @classmethod
    def _tags_fit_mode(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        mode = info.data.get("mode")
        if mode in (*OLD_MODES, "task-tags") and not value:
            raise ValueError(f"{mode} needs at least one tag id")
        if mode == "task-all" and value:
            raise ValueError("task-all takes no tag ids (use task-tags)")
        return value

    @field_validator("user_ids")
    @classmethod
    def _users_fit_mode(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        mode = info.data.get("mode")
        if mode == "task-users" and not value:
            raise ValueError("task-users needs at least one user id")
        if mode in ("task-all", "task-tags") and value:
            raise ValueError(f"{mode} takes no user ids (use task-users)")
        return value


@dataclass(frozen=True)
class TagTask:
    """What to run, and what the caller sent (echoed back in the old shape)."""

    mode: str                      # as sent: full, incremental or a task word
    tag_ids: list[int]
    user_ids: list[str] | None     # None: the caller sent none
    today: date | None
    old_style: bool
    scope: str = field(init=False)

    def __post_init__(self) -> None:
        scope = self.mode if self.mode in NEW_MODES else ("task-users" if self.user_ids else "task-tags")
        object.__setattr__(self, "scope", scope)


async def read_json(request: Request) -> Any:
    """The request's JSON body, read up to MAX_BODY_BYTES (old shape refusals otherwise)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise Refusal(415, f"Content-Type must be application/json (got {content_type or 'none'!r})",
                      "请求体必须是JSON", field="Content-Type")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refusal(413, f"the body is over {MAX_BODY_BYTES // (1024 * 1024)} MiB",
                          "请求体过大", field="body")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as exc:
        raise Refusal(400, f"the body is not valid JSON: {exc}", "请求体不是有效的JSON", field="body") from None


def _field(loc: tuple) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _old_style(body: Any) -> TagTask:
    """The old service's checks in its order and words, then the id rules."""
    if not isinstance(body, dict) or "tag_ids" not in body:
        raise Refusal(400, "tag_ids is required", "标签ID列表是必需的", field="tag_ids")
    if not isinstance(body["tag_ids"], list) or not body["tag_ids"]:
        raise Refusal(400, "tag_ids must be a non-empty list", "标签ID必须是非空列表", field="tag_ids")
    try:
        parsed = TriggerRequest.model_validate(body)
    except ValidationError as exc:
        problems = [{"field": _field(e["loc"]), "problem": e["msg"], "input": _shown(e.get("input"))}
                    for e in exc.errors(include_url=False)]
        first = problems[0]
        raise Refusal(400, f"{first['field']}: {first['problem']} (got {first['input']})",
                      f"请求参数无效: {first['field']}", field=first["field"], problems=problems) from None
    user_ids = None if parsed.user_ids is None else list(parsed.user_ids)
    return TagTask(parsed.mode, list(parsed.tag_ids or []), user_ids, parsed.today, old_style=True)


def _echo(value: Any) -> Any:
    """An input as the 422 answer may show it: long lists summarised, text that is no valid
    UTF-8 (a lone surrogate) as its repr."""
    if isinstance(value, list) and len(value) > 20:
        return f"a list of {len(value)} items"
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return _shown(value)
    return value


def _new_style(body: dict) -> TagTask:
    try:
        parsed = TriggerRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"]), "input": _echo(e.get("input"))}
                                      for e in exc.errors(include_url=False, include_context=False)],
                                     body=body) from None
    return TagTask(parsed.mode, list(parsed.tag_ids or []), list(parsed.user_ids or []), parsed.today,
                   old_style=False)


def parse_trigger(body: Any) -> TagTask:
    """The task a body asks for; Refusal (old shape) or RequestValidationError (422) otherwise."""
    if isinstance(body, dict) and body.get("mode") in NEW_MODES:
        return _new_style(body)
    return _old_style(body)


def refuse_unknown_tags(task: TagTask, available: list[int]) -> None:
    """Tag ids that are not active tags with an active rule are refused, naming them."""
    known = set(available)
    unknown = [i for i in task.tag_ids if i not in known]
    if not unknown:
        return
    if task.old_style:
        raise Refusal(400, f"Invalid tag_ids: {unknown}", f"无效的标签ID: {unknown}",
                      available_tag_ids=sorted(known), field="tag_ids")
    raise RequestValidationError([
        {"type": "unknown_tag", "loc": ("body", "tag_ids", task.tag_ids.index(i)), "input": i,
         "msg": f"tag {i} is not an active tag with an active rule",
         "ctx": {"available_tag_ids": sorted(known)}} for i in unknown])
