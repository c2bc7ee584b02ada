"""Whether user_tags is still exactly as the platform last wrote it.

A run may compare with the platform's own copy of user_tags (`snapshot`) only if nobody
else wrote the table since that copy was published. Triggers on user_tags count every row
inserted, updated or deleted by anything but the platform's merge into the one row of
`user_tags_snapshot`, which also names the published copy and the count it was published
at. So the check costs three indexed lookups, not a scan of the table (`CHECKSUM TABLE` or
a sum over a column read every row: about a second per million rows on MariaDB), and it is
sound for whatever goes through SQL: an operator's `UPDATE`, `INSERT`, `DELETE`, `REPLACE`,
`LOAD DATA`, the old tag service. The rest is caught too: `TRUNCATE` fires no trigger but
empties the table and resets its ids (its smallest and largest id are checked, when the
run reads and when it publishes), and a table dropped and made again, or a trigger
dropped, has lost its triggers (checked; they are made again and the copy is not used
until a run has published a new one).

MariaDB/MySQL: the merge sets a session variable that its triggers skip, so a merge of a
million rows pays nothing for them. SQLite has no session variables: every row counts,
and the merge knows how many it wrote.

The merge checks, in its own transaction and after taking the counter row's lock, that
the count is still what the run saw before it read user_tags, so a write by someone else
while the run compared fails the run instead of being overwritten; then it publishes the
new copy (or clears the old one) in the same transaction: the copy is published exactly
when the write is committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from yd_platform.tags.write.upsert import MERGE_VARIABLE, Execute, TagWriteError, step

STATE_ROW = 1
EVENTS = ("insert", "update", "delete")

_metadata = sa.MetaData()
user_tags_snapshot = sa.Table(
    "user_tags_snapshot", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    # rows of user_tags changed by anything but the platform's merge (the triggers count them)
    sa.Column("writes", sa.BigInteger, nullable=False, server_default="0"),
    # one more for every write of the platform (a copy published or cleared)
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
    # the published copy (a folder or object-store prefix) and what it was published with
    sa.Column("location", sa.Text),
    sa.Column("writes_seen", sa.BigInteger),
    sa.Column("min_id", sa.BigInteger),
    sa.Column("max_id", sa.BigInteger),
    sa.Column("new_row_ids", sa.Text),
    # the copy's rows summed up for the tags its run evaluated (`no_change.Digest`, JSON)
    sa.Column("digest", sa.Text),
    sa.Column("published_time", sa.DateTime),
)


def trigger_name(event: str) -> str:
    return f"user_tags_counted_{event}"


def _trigger_sql(dialect: str, event: str) -> str:
    count = f"UPDATE user_tags_snapshot SET writes = writes + 1 WHERE id = {STATE_ROW};"
    head = f"CREATE TRIGGER {trigger_name(event)} AFTER {event.upper()} ON user_tags"
    if dialect == "sqlite":
        return f"{head} BEGIN {count} END"
    return f"{head} FOR EACH ROW BEGIN IF {MERGE_VARIABLE} IS NULL THEN {count} END IF; END"


def _triggers_present(conn: sa.Connection) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = 'user_tags'")
    else:
        rows = conn.exec_driver_sql("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                                    "WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'user_tags'")
    return {r[0] for r in rows}


def own_rows_counted(engine: sa.Engine) -> bool:
    """Whether the merge's own rows move the count (SQLite: no session variables)."""
    return engine.dialect.name == "sqlite"


def ensure_tracking(engine: sa.Engine) -> str | None:
    """Make the state row and the counting triggers where missing. Returns None when writes
    are counted, else why not (e.g. the database user may not create triggers); then no
    copy is ever used and every run reads user_tags itself.

    Missing triggers are made again and the published copy is forgotten: writes made while
    they were missing were not counted. Call it under the user_tags write lock."""
    _metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(sa.select(user_tags_snapshot.c.id).where(user_tags_snapshot.c.id == STATE_ROW)).first() is None:
            conn.execute(user_tags_snapshot.insert().values(id=STATE_ROW, writes=0, generation=0))
    with engine.connect() as conn:
        missing = [e for e in EVENTS if trigger_name(e) not in _triggers_present(conn)]
    if not missing:
        return None
    try:
        with engine.begin() as conn:
            for event in missing:
                conn.exec_driver_sql(_trigger_sql(engine.dialect.name, event))
    except sa.exc.DBAPIError as exc:
        orig = getattr(exc, "orig", exc)
        return f"triggers on user_tags cannot be made ({' '.join(str(a) for a in getattr(orig, 'args', ()))})"
    with engine.begin() as conn:
        conn.execute(user_tags_snapshot.update().where(user_tags_snapshot.c.id == STATE_ROW)
                     .values(location=None, generation=user_tags_snapshot.c.generation + 1))
    return None


@dataclass(frozen=True)
class Published:
    """A copy of user_tags the platform published, with what it was published with."""

    location: str
    generation: int
    # the ids of the rows the publishing run inserted: see `snapshot.new_row_ids`
    new_row_ids: dict[str, Any] = field(default_factory=dict)
    # user_tags' smallest and largest id (0 for none) once the copy is published: the run's
    # merge never deletes a row, so they are those the run saw, the largest grown by the
    # rows it inserts
    ids: tuple[int, int] = (0, 0)
    # the copy's rows summed up for the tags its run evaluated (`no_change.Digest.as_json`)
    digest: dict[str, Any] | None = None


@dataclass(frozen=True)
class TableState:
    """What a run saw of user_tags before reading it: the count of outside writes (None when
    not counted), the generation, the table's smallest and largest id (0 for none), and the
    published copy if it still holds (else why not, in `unused`)."""

    writes: int | None
    generation: int
    min_id: int = 0
    max_id: int = 0
    published: Published | None = None
    unused: str = ""

    def ids_after(self, inserted: int) -> tuple[int, int]:
        """user_tags' smallest and largest id once the run's merge has inserted `inserted`
        rows with the ids it gives them (the next ones after the largest)."""
        return (self.min_id or (self.max_id + 1 if inserted else 0)), self.max_id + inserted


def _ids(execute: Execute) -> tuple[int, int]:
    low, high = execute("SELECT MIN(id), MAX(id) FROM user_tags", ()).fetchone()
    return int(low or 0), int(high or 0)


def read_state(engine: sa.Engine) -> TableState:
    """The state of user_tags now; `published` only when nothing says anyone else wrote it since."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(user_tags_snapshot).where(user_tags_snapshot.c.id == STATE_ROW)).first()
        min_id, max_id = _ids(conn.exec_driver_sql)
        triggers = _triggers_present(conn)
    if row is None:
        return TableState(None, 0, min_id, max_id, unused="writes to user_tags are not counted")
    state = dict(writes=int(row.writes), generation=int(row.generation), min_id=min_id, max_id=max_id)
    if any(trigger_name(e) not in triggers for e in EVENTS):
        return TableState(**{**state, "writes": None}, unused="a trigger counting writes to user_tags is missing")
    if not row.location:
        return TableState(**state, unused="no copy is published (the last write to user_tags kept none, or writes "
                                          "to it were not counted)")
    if row.writes_seen != row.writes:
        return TableState(**state, unused=f"user_tags was written outside the platform since the last run "
                                          f"({row.writes - (row.writes_seen or 0)} row changes)")
    published_ids = (int(row.min_id or 0), int(row.max_id or 0))
    if published_ids != (min_id, max_id):
        return TableState(**state, unused=f"user_tags ids changed outside the platform since the last run "
                                          f"(ids {min_id}..{max_id}, published with {published_ids[0]}.."
                                          f"{published_ids[1]}: emptied by TRUNCATE?)")
    return TableState(**state, published=Published(row.location, int(row.generation),
                                                   json.loads(row.new_row_ids or "{}"), published_ids,
                                                   json.loads(row.digest) if row.digest else None))


def in_merge(dialect: str, execute: Execute, seen: TableState, own_rows: int,
             publish: Published | None, now: datetime) -> None:
    """Inside the merge's transaction, after the merge and before the commit: lock the state
    row, check that nobody else wrote user_tags since the run read it (`seen`; `own_rows`:
    the rows the merge changed, counted on SQLite), then publish `publish` or, without one,
    forget the published copy. `execute(sql, params)` runs on the merge's connection
    (`%s` placeholders)."""
    if seen.writes is None:
        return
    lock = "" if dialect == "sqlite" else " FOR UPDATE"
    with step("checking that nobody else wrote user_tags since the run read it"):
        writes = int(execute(f"SELECT writes FROM user_tags_snapshot WHERE id = {STATE_ROW}{lock}", ()).fetchone()[0])
    outside = writes - seen.writes - (own_rows if dialect == "sqlite" else 0)
    if outside:
        raise TagWriteError(f"user_tags write failed while checking that nobody else wrote user_tags since the run "
                            f"read it: {outside} row changes were made outside the platform meanwhile; user_tags was "
                            "left as it was before the run (run it again)")
    if publish is not None:
        with step("checking that nobody else emptied user_tags since the run read it"):
            ids = _ids(execute)
        if ids != publish.ids:
            raise TagWriteError(f"user_tags write failed while checking that nobody else wrote user_tags since the "
                                f"run read it: its ids are {ids[0]}..{ids[1]} after the merge, not "
                                f"{publish.ids[0]}..{publish.ids[1]} (emptied outside the platform meanwhile, by "
                                "TRUNCATE?); user_tags was left as it was before the run (run it again)")
    with step("recording the copy of user_tags the run wrote"):
        _record(execute, writes, publish, now)


def _record(execute: Execute, writes: int, publish: Published | None, now: datetime) -> None:
    if publish is None:
        execute(f"UPDATE user_tags_snapshot SET location = NULL, generation = generation + 1 WHERE id = {STATE_ROW}", ())
        return
    execute("UPDATE user_tags_snapshot SET location = %s, writes_seen = %s, min_id = %s, max_id = %s, "
            f"new_row_ids = %s, digest = %s, published_time = %s, generation = %s WHERE id = {STATE_ROW}",
            (publish.location, writes, *publish.ids, json.dumps(publish.new_row_ids),
             json.dumps(publish.digest) if publish.digest else None, now, publish.generation))


def publish_unchanged(engine: sa.Engine, seen: TableState, publish: Published, now: datetime) -> bool:
    """Publish a copy made by a run that changed no row (it read user_tags itself): only if
    nobody wrote the table since the run read it. Returns whether it was published."""
    if seen.writes is None:
        return False
    with engine.begin() as conn:
        def execute(sql: str, params: tuple):
            return conn.exec_driver_sql(sql.replace("%s", "?") if engine.dialect.name == "sqlite" else sql, params)

        lock = "" if engine.dialect.name == "sqlite" else " FOR UPDATE"
        writes = int(execute(f"SELECT writes FROM user_tags_snapshot WHERE id = {STATE_ROW}{lock}", ()).fetchone()[0])
        if writes != seen.writes or _ids(execute) != publish.ids:
            return False
        _record(execute, writes, publish, now)
    return True
