"""The tags that ship with the platform (`seed:` in tags.yaml), loaded into the tag tables.

Seeding only ever inserts. Each seeded category and tag is written down in
`tag_seed_log` with the seed version that brought it, and is never looked at again:
an operator may rename a seeded tag, change its rule, deactivate or delete it, and no
later seeding (same or newer version) undoes that. An id or category name the operator
already uses is kept as it is (logged as `kept`). A newer seed version adds only the
ids it has not seeded before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from yd_platform.tags.rules.validate import check_rule
from yd_platform.tags.tables import ensure_tables, now_utc, tag_category, tag_definition, tag_rules


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedCategory(_Model):
    id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=100)
    description: str = ""


class SeedTag(_Model):
    id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=200)
    category: str
    description: str = ""
    rule: dict[str, Any]


class TagSeed(_Model):
    version: int = Field(default=0, ge=0)
    categories: list[SeedCategory] = Field(default_factory=list)
    tags: list[SeedTag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TagSeed:
        for kind, items in (("category", self.categories), ("tag", self.tags)):
            ids = [i.id for i in items]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids {dupes}")
        names = {c.name for c in self.categories}
        unknown = sorted({t.category for t in self.tags} - names)
        if unknown:
            raise ValueError(f"tags use categories that are not in seed.categories: {unknown}")
        return self


def seed_problems(seed: TagSeed, schema: Mapping[str, str]) -> list[str]:
    """Why a seed rule could not run on the configured features (empty when all can)."""
    return [f"seed {p}" for t in seed.tags for p in check_rule(t.id, t.rule, schema)]


seed_metadata = sa.MetaData()
tag_seed_log = sa.Table(
    "tag_seed_log", seed_metadata,
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seed_version", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("seeded_at", sa.DateTime, nullable=False),
)


@dataclass
class SeedResult:
    version: int
    inserted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.inserted and not self.kept:
            return f"tag seed v{self.version}: nothing new"
        parts = [f"inserted {', '.join(self.inserted)}" if self.inserted else "",
                 f"kept the operator's {', '.join(self.kept)}" if self.kept else ""]
        return f"tag seed v{self.version}: " + "; ".join(p for p in parts if p)


def _exists(conn, column: sa.Column, value) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(column == value).limit(1)).first() is not None


def apply_seed(engine: sa.Engine, seed: TagSeed) -> SeedResult:
    """Insert the seed's categories and tags that were never seeded before (one transaction)."""
    ensure_tables(engine)
    seed_metadata.create_all(engine, checkfirst=True)
    result = SeedResult(seed.version)
    try:
        with engine.begin() as conn:
            done = {(r.kind, r.item_id) for r in conn.execute(sa.select(tag_seed_log.c.kind, tag_seed_log.c.item_id))}
            log = []
            for cat in seed.categories:
                if ("category", cat.id) in done:
                    continue
                taken = (_exists(conn, tag_category.c.category_id, cat.id)
                         or _exists(conn, tag_category.c.category_name, cat.name))
                if not taken:
                    conn.execute(tag_category.insert().values(category_id=cat.id, category_name=cat.name,
                                                              description=cat.description))
                (result.kept if taken else result.inserted).append(f"category {cat.id}")
                log.append(("category", cat.id, "kept" if taken else "inserted"))
            for tag in seed.tags:
                if ("tag", tag.id) in done:
                    continue
                taken = _exists(conn, tag_definition.c.tag_id, tag.id)
                if not taken:
                    conn.execute(tag_definition.insert().values(tag_id=tag.id, tag_name=tag.name,
                                                                tag_category=tag.category,
                                                                description=tag.description))
                    conn.execute(tag_rules.insert().values(tag_id=tag.id, rule_conditions=tag.rule))
                (result.kept if taken else result.inserted).append(f"tag {tag.id}")
                log.append(("tag", tag.id, "kept" if taken else "inserted"))
            if log:
                now = now_utc()
                conn.execute(tag_seed_log.insert(), [
                    {"kind": k, "item_id": i, "seed_version": seed.version, "outcome": o, "seeded_at": now}
                    for k, i, o in log])
    except sa.exc.IntegrityError:
        # another process seeded at the same moment; its transaction won, nothing is lost
        return SeedResult(seed.version)
    return result


def seed_log(engine: sa.Engine) -> list[dict]:
    seed_metadata.create_all(engine, checkfirst=True)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(tag_seed_log).order_by(tag_seed_log.c.kind, tag_seed_log.c.item_id))]
