"""Merge a run's result into user_tags without disturbing tags the run did not compute.

For the tags evaluated in this run, membership is replaced; every other tag a user has
stays (recomputing tag 3 never drops tag 5; a user who no longer matches tag 3 loses only
tag 3). Only rows whose tag set changes are written, so `updated_time` moves only on a
real change and a rerun on the same data writes nothing. A user who loses every tag
keeps the row with `tag_ids = []` (and the original `created_time`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from yd_platform.tags.lock import user_tags_writer
from yd_platform.tags.store import ensure_tables, now_utc, read_user_tags, tag_names, upsert_rows


@dataclass(frozen=True)
class WriteSummary:
    matched_users: int
    inserted: int
    updated: int
    unchanged: int

    def as_metadata(self) -> dict[str, int]:
        return {"matched_users": self.matched_users, "rows_inserted": self.inserted,
                "rows_updated": self.updated, "rows_unchanged": self.unchanged}


def _details(tag_ids: list[int], names: dict[int, str], previous: dict) -> dict[str, dict]:
    out = {}
    for tag_id in tag_ids:
        old = previous.get(str(tag_id)) if isinstance(previous, dict) else None
        name = names.get(tag_id) or (old or {}).get("tag_name") or ""
        out[str(tag_id)] = {"tag_name": name}
    return out


def plan_rows(new: dict[str, list[int]], existing: dict[str, dict], evaluated: set[int],
              names: dict[int, str], now: datetime,
              users_in_scope: set[str] | None = None) -> tuple[list[dict], WriteSummary]:
    """The rows to upsert and what they amount to (pure: no database access)."""
    candidates = set(new)
    for user, row in existing.items():
        if (users_in_scope is None or user in users_in_scope) and evaluated & set(row["tag_ids"]):
            candidates.add(user)
    rows, inserted, updated, unchanged = [], 0, 0, 0
    for user in sorted(candidates):
        found = set(new.get(user, ())) & evaluated
        old_row = existing.get(user)
        old = set(old_row["tag_ids"]) if old_row else set()
        merged = sorted((old - evaluated) | found)
        if old_row is None:
            if not merged:
                continue
            inserted += 1
            created = now
        elif set(merged) == old:
            unchanged += 1
            continue
        else:
            updated += 1
            created = old_row["created_time"]
        rows.append({"user_id": user, "tag_ids": merged,
                     "tag_details": _details(merged, names, old_row["tag_details"] if old_row else {}),
                     "created_time": created, "updated_time": now})
    return rows, WriteSummary(len(new), inserted, updated, unchanged)


def write_user_tags(engine: sa.Engine, new: dict[str, list[int]], evaluated: Iterable[int],
                    user_ids: Iterable[str] | None = None, now: datetime | None = None,
                    batch_size: int = 1000) -> WriteSummary:
    """Merge `new` (user -> matched tag ids among `evaluated`) into user_tags.

    `user_ids` limits the run to those users (task-users); otherwise every user is in
    scope and users absent from `new` lose the evaluated tags. The read and the write
    happen under the user_tags write lock, so concurrent runs merge one after the other.
    """
    ensure_tables(engine)
    scope = {str(u) for u in user_ids} if user_ids else None
    with user_tags_writer(engine):
        existing = read_user_tags(engine, scope)
        rows, summary = plan_rows(new, existing, set(evaluated), tag_names(engine), now or now_utc(), scope)
        upsert_rows(engine, rows, batch_size)
    return summary
