"""Tag tables in the app database (MariaDB in production, SQLite in the embedded default).

Layout follows the old tag system: tag_category, tag_definition, tag_rules (rule JSON in
`rule_conditions`) and user_tags (one row per user: `tag_ids` JSON array, `tag_details`
JSON, `created_time`, `updated_time`). Tables are created idempotently with SQLAlchemy
Core so the same statements run on both databases.

People change tags through `create_tag`, `edit_tag` and `set_tag_active` (the tag page of
the HTTP API uses them): each refuses a rule the validator refuses, and writes one
`tag_audit` row (who, when, the tag before and after) in the same transaction as the
change. `save_tag` writes without either, for loading prepared tags (tests, benchmarks).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from yd_platform.tags.rules.validate import RuleProblem, TagRule, check_rule, parse_rule

USER_ID_LENGTH = 100
metadata = sa.MetaData()
_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

tag_category = sa.Table(
    "tag_category", metadata,
    sa.Column("category_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("category_name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_date", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
)

tag_definition = sa.Table(
    "tag_definition", metadata,
    sa.Column("tag_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tag_name", sa.String(200), nullable=False),
    sa.Column("tag_category", sa.String(100), nullable=False, server_default=""),
    sa.Column("description", sa.Text),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_date", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
)

tag_rules = sa.Table(
    "tag_rules", metadata,
    sa.Column("rule_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tag_id", sa.Integer, sa.ForeignKey("tag_definition.tag_id"), nullable=False, index=True),
    sa.Column("rule_conditions", sa.JSON, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_date", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
)

user_tags = sa.Table(
    "user_tags", metadata,
    sa.Column("id", _id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(USER_ID_LENGTH), nullable=False),
    sa.Column("tag_ids", sa.JSON, nullable=False),
    sa.Column("tag_details", sa.JSON),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("updated_time", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", name="uk_user_id"),
)

# The last run of each scope whose inputs can let the next one be skipped (`unchanged`).
user_tags_last_runs = sa.Table(
    "user_tags_last_runs", metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("statistics", sa.Text, nullable=False),
    sa.Column("finished_time", sa.DateTime, nullable=False),
)


# Who changed which tag when: one row per create / edit / activate / deactivate, with the
# tag as it was before and after (name, category, description, active, rule). No foreign
# key: the history of a tag deleted by hand stays readable.
AUDIT_ACTIONS = ("create", "edit", "activate", "deactivate")
tag_audit = sa.Table(
    "tag_audit", metadata,
    sa.Column("audit_id", _id, primary_key=True, autoincrement=True),
    sa.Column("tag_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Column("before_json", sa.JSON),
    sa.Column("after_json", sa.JSON),
    sa.Index("ix_tag_audit_tag", "tag_id", "audit_id"),
)


def byte_collation(conn: sa.Connection) -> str:
    """A binary NO PAD collation of utf8mb4 on this server: user ids compare byte for byte,
    case and trailing spaces included (plain utf8mb4_bin still pads on MariaDB)."""
    return "utf8mb4_nopad_bin" if conn.dialect.is_mariadb else "utf8mb4_0900_bin"


def _binary_user_ids(engine: sa.Engine) -> None:
    """Give user_tags.user_id the byte-for-byte collation; tables made with the server's
    default collation (case- and trailing-space-insensitive) are altered in place."""
    with engine.begin() as conn:
        current = conn.execute(sa.text(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'user_tags' AND COLUMN_NAME = 'user_id'")).scalar()
        wanted = byte_collation(conn)
        if current != wanted:
            conn.execute(sa.text(f"ALTER TABLE user_tags MODIFY user_id VARCHAR({USER_ID_LENGTH}) "
                                 f"CHARACTER SET utf8mb4 COLLATE {wanted} NOT NULL"))


# The API's requests (a page asks for several things at once) and a run may all find a
# table missing at the same moment; within one process they take turns.
_ENSURE_LOCK = threading.Lock()


def ensure_tables(engine: sa.Engine) -> None:
    """Create the tag tables that are missing and bring user_tags.user_id to a binary
    collation on MariaDB/MySQL (safe to call on every run, from several requests and
    processes at once: a table another process made meanwhile is taken as made)."""
    with _ENSURE_LOCK:
        try:
            metadata.create_all(engine, checkfirst=True)
        except sa.exc.DBAPIError as exc:
            if "already exists" not in str(exc):
                raise
            metadata.create_all(engine, checkfirst=True)
        if engine.dialect.name in ("mysql", "mariadb"):
            _binary_user_ids(engine)


def save_tag(engine: sa.Engine, tag_id: int, tag_name: str, rule: dict, category: str = "",
             description: str = "", active: bool = True) -> None:
    """Insert or replace a tag's definition and make `rule` its only active rule, as given
    (no validation, no audit row: for loading prepared tags; people use `create_tag` /
    `edit_tag`)."""
    ensure_tables(engine)
    with engine.begin() as conn:
        exists = conn.execute(sa.select(tag_definition.c.tag_id).where(tag_definition.c.tag_id == tag_id)).first()
        _write_definition(conn, tag_id, tag_name, category, description, active, exists=bool(exists))
        _replace_rule(conn, tag_id, rule)


def _write_definition(conn: sa.Connection, tag_id: int, tag_name: str, category: str, description: str,
                      active: bool, exists: bool) -> None:
    """The tag_definition row (and its category, created when new)."""
    if category and not conn.execute(sa.select(tag_category.c.category_id)
                                     .where(tag_category.c.category_name == category)).first():
        conn.execute(tag_category.insert().values(category_name=category))
    values = dict(tag_name=tag_name, tag_category=category, description=description, is_active=active)
    if exists:
        conn.execute(tag_definition.update().where(tag_definition.c.tag_id == tag_id).values(**values))
    else:
        conn.execute(tag_definition.insert().values(tag_id=tag_id, **values))


def _replace_rule(conn: sa.Connection, tag_id: int, rule: Any) -> None:
    """Make `rule` the tag's only active rule; earlier rules stay as inactive rows."""
    conn.execute(tag_rules.update().where(tag_rules.c.tag_id == tag_id).values(is_active=False))
    conn.execute(tag_rules.insert().values(tag_id=tag_id, rule_conditions=rule, is_active=True))


class TagWriteError(ValueError):
    """A change to a tag was refused; `field` names the input it concerns (tag_id,
    tag_name, category, description, rule) and `problems` the rule's validator problems."""

    def __init__(self, message: str, field: str = "", problems: list[RuleProblem] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = list(problems or [])


class TagNotFound(TagWriteError):
    """No tag with that id."""


class TagConflict(TagWriteError):
    """The id is taken, or the tag changed since the caller read it."""


NAME_LENGTH, CATEGORY_LENGTH, ACTOR_LENGTH = 200, 100, 100


def _rule_text_column() -> sa.ColumnElement:
    # read as text and parsed per tag: one unreadable rule (written by hand) is that tag's problem
    return sa.type_coerce(tag_rules.c.rule_conditions, sa.Text).label("rule_conditions")


def _version(view: Mapping[str, Any]) -> str:
    """A short fingerprint of what a person sees of a tag: an edit based on another
    version than the current one is refused instead of silently overwriting it."""
    seen = {k: view[k] for k in ("tag_name", "category", "description", "is_active", "rule_id")}
    return hashlib.sha1(json.dumps(seen, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _tag_views(conn: sa.Connection, tag_ids: Iterable[int] | None = None, lock: bool = False) -> list[dict]:
    """Every tag (active or not) with its newest active rule (None when it has none)."""
    query = sa.select(tag_definition).order_by(tag_definition.c.tag_id)
    wanted = None if tag_ids is None else sorted(set(tag_ids))
    if wanted is not None:
        query = query.where(tag_definition.c.tag_id.in_(wanted))
    if lock:
        query = query.with_for_update()
    definitions = conn.execute(query).all()
    rules: dict[int, Any] = {}
    if definitions:
        rule_query = (sa.select(tag_rules.c.tag_id, tag_rules.c.rule_id, _rule_text_column())
                      .where(tag_rules.c.is_active.is_(True)).order_by(tag_rules.c.rule_id.desc()))
        if wanted is not None:
            rule_query = rule_query.where(tag_rules.c.tag_id.in_(wanted))
        for row in conn.execute(rule_query):
            rules.setdefault(row.tag_id, (row.rule_id, row.rule_conditions))
    views = []
    for d in definitions:
        rule_id, text = rules.get(d.tag_id, (None, None))
        view = {"tag_id": d.tag_id, "tag_name": d.tag_name, "category": d.tag_category or "",
                "description": d.description or "", "is_active": bool(d.is_active),
                "created_date": d.created_date, "rule_id": rule_id,
                "rule": None if text is None else _rule(text)}
        view["version"] = _version(view)
        views.append(view)
    return views


def list_tag_definitions(engine: sa.Engine) -> list[dict]:
    """Every tag, active or not, by id: name, category, description, is_active, its newest
    active rule (`rule`, `rule_id`; the rule's text when it is not valid JSON) and `version`."""
    ensure_tables(engine)
    with engine.connect() as conn:
        return _tag_views(conn)


def read_tag(engine: sa.Engine, tag_id: int) -> dict:
    """One tag as `list_tag_definitions` shows it; TagNotFound when there is none."""
    ensure_tables(engine)
    with engine.connect() as conn:
        found = _tag_views(conn, [tag_id])
    if not found:
        raise TagNotFound(f"tag {tag_id}: no such tag", field="tag_id")
    return found[0]


def _audited(view: dict | None) -> dict | None:
    """The part of a tag view the audit keeps (JSON-ready)."""
    if view is None:
        return None
    return {k: view[k] for k in ("tag_name", "category", "description", "is_active", "rule")}


def _check_actor(actor: str) -> None:
    if not (actor or "").strip() or len(actor) > ACTOR_LENGTH:
        raise TagWriteError(f"actor: 1 to {ACTOR_LENGTH} characters naming who makes the change (got {actor!r})",
                            field="actor")


def _check_inputs(tag_id: int | None, tag_name: str, category: str, description: str, rule: Any,
                  schema: Mapping[str, str], actor: str) -> tuple[str, str, str, Any]:
    """The cleaned name, category, description and the parsed rule; TagWriteError naming
    the first field that is wrong (every problem of the rule, with its JSON path)."""
    tag_name, category, description = (tag_name or "").strip(), (category or "").strip(), description or ""
    if not tag_name:
        raise TagWriteError("tag_name: a tag needs a name", field="tag_name")
    if len(tag_name) > NAME_LENGTH:
        raise TagWriteError(f"tag_name: at most {NAME_LENGTH} characters (got {len(tag_name)})", field="tag_name")
    if len(category) > CATEGORY_LENGTH:
        raise TagWriteError(f"category: at most {CATEGORY_LENGTH} characters (got {len(category)})",
                            field="category")
    _check_actor(actor)
    problems = check_rule(tag_id, rule, schema)
    if problems:
        raise TagWriteError("; ".join(str(p) for p in problems), field="rule", problems=problems)
    return tag_name, category, description, parse_rule(rule)


def _audit(conn: sa.Connection, tag_id: int, action: str, actor: str, before: dict | None,
           after: dict | None) -> None:
    conn.execute(tag_audit.insert().values(tag_id=tag_id, action=action, actor=actor.strip(), changed_at=now_utc(),
                                           before_json=_audited(before), after_json=_audited(after)))


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def create_tag(engine: sa.Engine, schema: Mapping[str, str], actor: str, tag_name: str, rule: Any,
               category: str = "", description: str = "", active: bool = True,
               tag_id: int | None = None) -> dict:
    """A new tag with its rule, validated against the feature `schema`; `tag_id` None takes
    the next free id. Returns the tag as `read_tag` shows it. TagWriteError names the field
    (the rule's problems with their JSON paths), TagConflict an id already taken."""
    ensure_tables(engine)
    if tag_id is not None and (isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id <= 0):
        raise TagWriteError(f"tag_id: a whole number above 0 (got {tag_id!r})", field="tag_id")
    tag_name, category, description, rule = _check_inputs(tag_id, tag_name, category, description, rule,
                                                          schema, actor)
    try:
        with engine.begin() as conn:
            if tag_id is None:
                tag_id = (conn.execute(sa.select(sa.func.max(tag_definition.c.tag_id))).scalar() or 0) + 1
            elif conn.execute(sa.select(tag_definition.c.tag_id).where(tag_definition.c.tag_id == tag_id)).first():
                raise TagConflict(f"tag_id: tag {tag_id} already exists", field="tag_id")
            _write_definition(conn, tag_id, tag_name, category, description, active, exists=False)
            _replace_rule(conn, tag_id, rule)
            (after,) = _tag_views(conn, [tag_id])
            _audit(conn, tag_id, "create", actor, None, after)
    except sa.exc.IntegrityError as exc:  # another person took the id at the same moment
        raise TagConflict(f"tag_id: tag {tag_id} was just created by someone else; try again",
                          field="tag_id") from exc
    return after


def _current(conn: sa.Connection, tag_id: int, base_version: str | None) -> dict:
    found = _tag_views(conn, [tag_id], lock=True)
    if not found:
        raise TagNotFound(f"tag {tag_id}: no such tag", field="tag_id")
    if base_version and found[0]["version"] != base_version:
        last = conn.execute(sa.select(tag_audit.c.actor, tag_audit.c.changed_at).where(tag_audit.c.tag_id == tag_id)
                            .order_by(tag_audit.c.audit_id.desc()).limit(1)).first()
        who = f" (last change by {last.actor} at {last.changed_at:%Y-%m-%d %H:%M:%S} UTC)" if last else ""
        raise TagConflict(f"tag {tag_id} was changed since it was read{who}; reload it and edit again")
    return found[0]


def edit_tag(engine: sa.Engine, schema: Mapping[str, str], actor: str, tag_id: int, tag_name: str, rule: Any,
             category: str = "", description: str = "", base_version: str | None = None) -> tuple[dict, bool]:
    """Change a tag's name, category, description and rule (validated against `schema`);
    a new rule becomes the only active rule row, the old rows stay. `base_version` is the
    `version` the caller read: a tag changed since is TagConflict. Returns (the tag after,
    whether anything changed); no change writes nothing and no audit row."""
    ensure_tables(engine)
    tag_name, category, description, rule = _check_inputs(tag_id, tag_name, category, description, rule,
                                                          schema, actor)
    with engine.begin() as conn:
        before = _current(conn, tag_id, base_version)
        same_rule = before["rule_id"] is not None and _json_equal(before["rule"], rule)
        same_definition = (before["tag_name"], before["category"], before["description"]) == (
            tag_name, category, description)
        if same_rule and same_definition:
            return before, False
        _write_definition(conn, tag_id, tag_name, category, description, before["is_active"], exists=True)
        if not same_rule:
            _replace_rule(conn, tag_id, rule)
        (after,) = _tag_views(conn, [tag_id])
        _audit(conn, tag_id, "edit", actor, before, after)
    return after, True


def set_tag_active(engine: sa.Engine, schema: Mapping[str, str], actor: str, tag_id: int, active: bool,
                   base_version: str | None = None) -> tuple[dict, bool]:
    """Activate or deactivate a tag. Activation needs a rule the validator accepts (an
    active tag is computed by the next run). Returns (the tag after, whether it changed)."""
    ensure_tables(engine)
    _check_actor(actor)
    with engine.begin() as conn:
        before = _current(conn, tag_id, base_version)
        if before["is_active"] == active:
            return before, False
        if active:
            if before["rule_id"] is None:
                raise TagWriteError(f"tag {tag_id}: has no rule; give it one before activating it", field="rule")
            problems = check_rule(tag_id, before["rule"], schema)
            if problems:
                raise TagWriteError("; ".join(str(p) for p in problems), field="rule", problems=problems)
        conn.execute(tag_definition.update().where(tag_definition.c.tag_id == tag_id).values(is_active=active))
        (after,) = _tag_views(conn, [tag_id])
        _audit(conn, tag_id, "activate" if active else "deactivate", actor, before, after)
    return after, True


def tag_audit_rows(engine: sa.Engine, tag_id: int | None = None, limit: int = 100) -> list[dict]:
    """Newest first: audit_id, tag_id, action, actor, changed_at (naive UTC), before, after."""
    ensure_tables(engine)
    query = sa.select(tag_audit).order_by(tag_audit.c.audit_id.desc()).limit(limit)
    if tag_id is not None:
        query = query.where(tag_audit.c.tag_id == tag_id)
    with engine.connect() as conn:
        return [{"audit_id": r.audit_id, "tag_id": r.tag_id, "action": r.action, "actor": r.actor,
                 "changed_at": r.changed_at, "before": _json_value(r.before_json),
                 "after": _json_value(r.after_json)} for r in conn.execute(query)]


def last_changes(engine: sa.Engine) -> dict[int, dict]:
    """tag id -> its newest audit row (action, actor, changed_at), for tags that have one."""
    ensure_tables(engine)
    newest = sa.select(sa.func.max(tag_audit.c.audit_id)).group_by(tag_audit.c.tag_id).scalar_subquery()
    query = sa.select(tag_audit.c.tag_id, tag_audit.c.action, tag_audit.c.actor, tag_audit.c.changed_at).where(
        tag_audit.c.audit_id.in_(newest))
    with engine.connect() as conn:
        return {r.tag_id: {"action": r.action, "actor": r.actor, "changed_at": r.changed_at}
                for r in conn.execute(query)}


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def load_tags(engine: sa.Engine, tag_ids: Iterable[int] | None = None) -> list[TagRule]:
    """Active tags with their newest active rule, by tag id (optionally only `tag_ids`)."""
    ensure_tables(engine)
    rule_text = _rule_text_column()
    query = (
        sa.select(tag_definition.c.tag_id, tag_definition.c.tag_name, tag_definition.c.tag_category, rule_text)
        .join(tag_rules, tag_rules.c.tag_id == tag_definition.c.tag_id)
        .where(tag_definition.c.is_active.is_(True), tag_rules.c.is_active.is_(True))
        .order_by(tag_definition.c.tag_id, tag_rules.c.rule_id.desc())
    )
    wanted = sorted(set(tag_ids or []))
    if wanted:
        query = query.where(tag_definition.c.tag_id.in_(wanted))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    tags: dict[int, TagRule] = {}
    for row in rows:
        if row.tag_id not in tags:
            tags[row.tag_id] = TagRule(row.tag_id, row.tag_name, _rule(row.rule_conditions), row.tag_category or "")
    return list(tags.values())


def _rule(text: str | None):
    """The parsed rule, or its text when it cannot be parsed (the validator then reports it)."""
    try:
        return parse_rule(text)
    except ValueError:
        return text


def tag_names(engine: sa.Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {r.tag_id: r.tag_name for r in conn.execute(sa.select(tag_definition.c.tag_id,
                                                                     tag_definition.c.tag_name))}


def read_user_tags(engine: sa.Engine, user_ids: Iterable[str] | None = None,
                   chunk: int = 1000) -> dict[str, dict]:
    """user_id -> {"tag_ids", "tag_details", "created_time", "updated_time"} (all users, or
    `user_ids`), for a look at a few users; runs never load the table into Python."""
    cols = [user_tags.c.user_id, user_tags.c.tag_ids, user_tags.c.tag_details,
            user_tags.c.created_time, user_tags.c.updated_time]
    out: dict[str, dict] = {}
    with engine.connect() as conn:
        if user_ids is None:
            batches = [conn.execute(sa.select(*cols))]
        else:
            ids = sorted(set(user_ids))
            batches = [conn.execute(sa.select(*cols).where(user_tags.c.user_id.in_(ids[i:i + chunk])))
                       for i in range(0, len(ids), chunk)]
        for result in batches:
            for r in result:
                out[r.user_id] = {"tag_ids": _as_ids(r.tag_ids), "tag_details": r.tag_details or {},
                                  "created_time": r.created_time, "updated_time": r.updated_time}
    return out


def _as_ids(value) -> list[int]:
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return sorted(int(v) for v in value or [])


def now_utc() -> datetime:
    """Second precision, naive UTC: what both databases store for a DATETIME."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
