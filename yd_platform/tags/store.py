"""Tag tables in the app database (MariaDB in production, SQLite in the embedded default).

Layout follows the old tag system: tag_category, tag_definition, tag_rules (rule JSON in
`rule_conditions`) and user_tags (one row per user: `tag_ids` JSON array, `tag_details`
JSON, `created_time`, `updated_time`). Tables are created idempotently with SQLAlchemy
Core so the same statements run on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa

from yd_platform.tags.rules import TagRule, parse_rule

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
    sa.Column("user_id", sa.String(100), nullable=False),
    sa.Column("tag_ids", sa.JSON, nullable=False),
    sa.Column("tag_details", sa.JSON),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("updated_time", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", name="uk_user_id"),
)


def ensure_tables(engine: sa.Engine) -> None:
    """Create the tag tables that are missing (safe to call on every run)."""
    metadata.create_all(engine, checkfirst=True)


def save_tag(engine: sa.Engine, tag_id: int, tag_name: str, rule: dict, category: str = "",
             description: str = "", active: bool = True) -> None:
    """Insert or replace a tag's definition and make `rule` its only active rule."""
    ensure_tables(engine)
    with engine.begin() as conn:
        if category and not conn.execute(sa.select(tag_category.c.category_id)
                                         .where(tag_category.c.category_name == category)).first():
            conn.execute(tag_category.insert().values(category_name=category))
        values = dict(tag_name=tag_name, tag_category=category, description=description, is_active=active)
        exists = conn.execute(sa.select(tag_definition.c.tag_id).where(tag_definition.c.tag_id == tag_id)).first()
        if exists:
            conn.execute(tag_definition.update().where(tag_definition.c.tag_id == tag_id).values(**values))
        else:
            conn.execute(tag_definition.insert().values(tag_id=tag_id, **values))
        conn.execute(tag_rules.update().where(tag_rules.c.tag_id == tag_id).values(is_active=False))
        conn.execute(tag_rules.insert().values(tag_id=tag_id, rule_conditions=rule, is_active=True))


def load_tags(engine: sa.Engine, tag_ids: Iterable[int] | None = None) -> list[TagRule]:
    """Active tags with their newest active rule, by tag id (optionally only `tag_ids`)."""
    ensure_tables(engine)
    # the rule is read as text and parsed per tag: one unreadable rule is that tag's problem
    rule_text = sa.type_coerce(tag_rules.c.rule_conditions, sa.Text).label("rule_conditions")
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
    """user_id -> {"tag_ids", "tag_details", "created_time", "updated_time"} (all users, or `user_ids`)."""
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
        import json

        value = json.loads(value)
    return sorted(int(v) for v in value or [])


def upsert_statement(engine: sa.Engine):
    """INSERT … ON DUPLICATE KEY UPDATE (MariaDB) / ON CONFLICT DO UPDATE (SQLite).

    created_time is never in the update list, so it keeps its first value.
    """
    name = engine.dialect.name
    if name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert

        stmt = insert(user_tags)
        return stmt.on_duplicate_key_update(tag_ids=stmt.inserted.tag_ids, tag_details=stmt.inserted.tag_details,
                                            updated_time=stmt.inserted.updated_time)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        stmt = insert(user_tags)
        return stmt.on_conflict_do_update(index_elements=[user_tags.c.user_id],
                                          set_={"tag_ids": stmt.excluded.tag_ids,
                                                "tag_details": stmt.excluded.tag_details,
                                                "updated_time": stmt.excluded.updated_time})
    raise ValueError(f"user_tags upsert supports MariaDB/MySQL and SQLite, not {name!r}")


def upsert_rows(engine: sa.Engine, rows: list[dict], batch_size: int = 1000) -> int:
    """Write rows {user_id, tag_ids, tag_details, created_time, updated_time} in batches."""
    stmt = upsert_statement(engine)
    for i in range(0, len(rows), batch_size):
        with engine.begin() as conn:
            conn.execute(stmt, rows[i:i + batch_size])
    return len(rows)


def now_utc() -> datetime:
    """Second precision, naive UTC: what both databases store for a DATETIME."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
