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


def ensure_tables(engine: sa.Engine) -> None:
    """Create the tag tables that are missing and bring user_tags.user_id to a binary
    collation on MariaDB/MySQL (safe to call on every run)."""
    metadata.create_all(engine, checkfirst=True)
    if engine.dialect.name in ("mysql", "mariadb"):
        _binary_user_ids(engine)


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
        import json

        value = json.loads(value)
    return sorted(int(v) for v in value or [])


def now_utc() -> datetime:
    """Second precision, naive UTC: what both databases store for a DATETIME."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
