"""The SQL upsert into user_tags: a run's changed rows staged in bulk, then inserted or
updated in one transaction.

The changed rows arrive as CSV part files (Spark wrote them; quoted fields, quotes
doubled, no backslash escapes): the row's primary key in user_tags as Spark read it (for
a user without a row: the id the run gives the new row, or 0 to let the database pick
one), user_id, tag_ids, tag_details, new_row (1 for a user without a row). MariaDB/MySQL: `LOAD DATA
LOCAL INFILE` into a temporary table keyed like user_tags' primary key (streamed
`INSERT`s if the server refuses local files), then, in the same transaction, one
`INSERT … SELECT` of the new users and one `INSERT … SELECT … ON DUPLICATE KEY UPDATE` of
the existing rows that gives each row's primary key: the server meets the row in the
primary key at once and updates it in place, in key order, with no lookup in the user_id
index and no auto-increment value used up (without the key, every updated row would cost
an insert attempt through the user_id index, and MySQL 8 would use up an id for each).
With Spark on a cluster the executors write the rows over JDBC into a staging table of
the run's own instead (the driver's disk is not theirs), and the same merge reads it.
SQLite: the rows go into a temporary table and `INSERT … SELECT … ON CONFLICT DO UPDATE`,
in the same transaction.

`created_time` is never in the update list, so it keeps its first value; every staged
row is a real change, so `updated_time` moves exactly for them. Each row the update
finds must still be the row Spark read (same key, same user): a row deleted, re-created
or added since makes the write fail instead of writing over it. The merge is a single
transaction: if the connection drops or the server fails at any step, user_tags is
exactly as before, and the error says which step failed. The caller's `in_transaction`
runs in it after the merge, before the commit (`table_state` checks that nobody else
wrote user_tags meanwhile and publishes the run's copy of the table there).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

STAGE = "user_tags_stage"
COLUMNS = "id, user_id, tag_ids, tag_details, new_row"
# set on the merge's connection: the counting triggers of `table_state` skip its rows
MERGE_VARIABLE = "@yd_user_tags_merge"
INSERT_BATCH = 5_000
# MySQL client/server codes with a plain meaning
PLAIN = {2006: "the database server went away", 2013: "the connection to the database was lost",
         1053: "the database server is shutting down", 1927: "the connection was killed",
         1205: "waiting for a row lock timed out", 1213: "deadlock with another transaction",
         3948: "the server does not allow LOAD DATA LOCAL (local_infile is off)",
         1148: "the server does not allow LOAD DATA LOCAL (local_infile is off)",
         2068: "the client does not allow LOAD DATA LOCAL",
         1406: "a value is longer than its column (user_id over 100 characters?)",
         1062: "a user the run found without a row has one now, or the id it gave a new row is taken "
               "(user_tags was written since the run read it)",
         3140: "a tag_ids or tag_details value is not valid JSON",
         4025: "a tag_ids or tag_details value is not valid JSON"}


class TagWriteError(RuntimeError):
    """The user_tags write failed; the message names the step and says nothing was changed."""


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else str(orig)
    text = text.strip().splitlines()[0] if text.strip() else type(orig).__name__
    plain = PLAIN.get(code)
    if plain:
        return f"{plain} ({code}: {text})"
    return f"{text} ({code})" if code else text


@contextmanager
def step(what: str) -> Iterator[None]:
    """Turn a database error inside the block into a TagWriteError naming `what`."""
    try:
        yield
    except TagWriteError:
        raise
    except Exception as exc:  # the driver's exception types differ per database
        raise TagWriteError(f"user_tags write failed while {what}: {_reason(exc)}; "
                            "user_tags was left as it was before the run") from exc


def csv_rows(files: list[Path]) -> Iterator[tuple[int, str, str, str, int]]:
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh):
                yield int(row[0]), row[1], row[2], row[3], int(row[4])


def _batches(rows: Iterator[tuple], size: int = INSERT_BATCH) -> Iterator[list[tuple]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- MariaDB / MySQL -------------------------------------------------------------------

def _mysql_connect(engine: sa.Engine):
    import pymysql
    from pymysql.constants import CLIENT

    _, kwargs = engine.dialect.create_connect_args(engine.url)
    # FOUND_ROWS: an UPDATE reports the rows it matched, which the merge checks
    kwargs.update(local_infile=True, autocommit=False, client_flag=CLIENT.FOUND_ROWS)
    return pymysql.connect(**kwargs)


def _load_data(cur, files: list[Path]) -> int:
    loaded = 0
    for path in files:
        cur.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {STAGE} CHARACTER SET utf8mb4 "
                    "FIELDS TERMINATED BY ',' ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
                    f"({COLUMNS})", (str(path),))
        loaded += cur.rowcount
        cur.execute("SHOW WARNINGS LIMIT 1")
        warning = cur.fetchone()
        if warning:
            raise TagWriteError(f"user_tags write failed while loading the changed rows into the staging table: "
                                f"{path.name}: {warning[2]}; user_tags was left as it was before the run")
    return loaded


def _insert_rows(cur, files: list[Path]) -> int:
    loaded = 0
    for batch in _batches(csv_rows(files)):
        cur.executemany(f"INSERT INTO {STAGE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s)", batch)
        loaded += len(batch)
    return loaded


def _stage_ddl(table: str, collation: str, temporary: bool) -> str:
    kind = "TEMPORARY TABLE" if temporary else "TABLE"
    # keyed by (id, user_id): the update reads the stage in user_tags' primary-key order
    return (f"CREATE {kind} {table} (id BIGINT NOT NULL, "
            f"user_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE {collation} NOT NULL, "
            "tag_ids LONGTEXT NOT NULL, tag_details LONGTEXT NOT NULL, new_row TINYINT NOT NULL, "
            "PRIMARY KEY (id, user_id)) "
            "CHARACTER SET utf8mb4")


def _user_id_collation(cur) -> str:
    cur.execute("SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = 'user_tags' AND COLUMN_NAME = 'user_id'")
    return cur.fetchone()[0]


def create_stage_table(engine: sa.Engine) -> str:
    """A staging table of its own for this run (Spark executors write into it over JDBC)."""
    import uuid

    table = f"{STAGE}_{uuid.uuid4().hex[:12]}"
    with step("creating the staging table"):
        conn = _mysql_connect(engine)
        try:
            cur = conn.cursor()
            cur.execute(_stage_ddl(table, _user_id_collation(cur), temporary=False))
        finally:
            conn.close()
    return table


def drop_stage_table(engine: sa.Engine, table: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


Execute = Callable[[str, tuple], Any]
InTransaction = Callable[[Execute, int], None]


def _merge_mysql(engine: sa.Engine, files: list[Path], expected: int, now: datetime,
                 before_merge: Callable[[object], None] | None, table: str | None,
                 in_transaction: InTransaction | None) -> dict[str, float]:
    started = time.perf_counter()
    with step("connecting to the database"):
        conn = _mysql_connect(engine)
    try:
        cur = conn.cursor()
        cur.execute(f"SET {MERGE_VARIABLE} = 1")
        if table is None:
            table = STAGE
            with step("creating the staging table"):
                cur.execute(_stage_ddl(table, _user_id_collation(cur), temporary=True))
            with step("loading the changed rows into the staging table"):
                try:
                    loaded = _load_data(cur, files)
                except Exception as exc:  # noqa: BLE001 - only a refused local file falls back
                    if _code(exc) not in (1148, 2068, 3948):
                        raise
                    cur.execute(f"DELETE FROM {STAGE}")
                    loaded = _insert_rows(cur, files)
        else:
            with step("counting the rows Spark wrote into the staging table"):
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                loaded = cur.fetchone()[0]
        if loaded != expected:
            raise TagWriteError(f"user_tags write failed while loading the changed rows into the staging "
                                f"table: {loaded} rows staged, {expected} expected; user_tags was left as "
                                "it was before the run")
        staged = time.perf_counter()
        if before_merge:
            before_merge(conn)
        with step("merging the staged rows into user_tags"):
            _update_and_insert(cur, table, loaded, now)
        if in_transaction:
            in_transaction(lambda sql, params: (cur.execute(sql, params), cur)[1], loaded)
        with step("committing the merge"):
            conn.commit()
        return {"stage": staged - started, "merge": time.perf_counter() - staged}
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - a killed connection cannot be closed cleanly
            pass


_SAME_ROW = "user_tags.id = VALUES(id) AND user_tags.user_id = VALUES(user_id)"


def _update_and_insert(cur, table: str, staged: int, now: datetime) -> None:
    """New users are inserted (with the id the run gave them, else the next one); the other
    `staged` rows update their row by primary key. Every existing row must still be the one
    Spark read: a row whose key or user no longer matches is left as it is and fails the count."""
    # a user who got a row since the read (or a row that took the given id) makes this fail
    # on the duplicate key
    cur.execute("INSERT INTO user_tags (id, user_id, tag_ids, tag_details, created_time, updated_time) "
                f"SELECT NULLIF(id, 0), user_id, tag_ids, tag_details, %s, %s FROM {table} WHERE new_row = 1 "
                "ORDER BY id, user_id", (now, now))
    existing = staged - cur.rowcount
    if not existing:
        return
    # the key is given, so the insert meets its row in the primary key first and updates it in
    # place; with FOUND_ROWS each row updated counts 2, a row left as it is or inserted counts 1
    cur.execute("INSERT INTO user_tags (id, user_id, tag_ids, tag_details, created_time, updated_time) "
                f"SELECT id, user_id, tag_ids, tag_details, %s, %s FROM {table} WHERE new_row = 0 ORDER BY id "
                f"ON DUPLICATE KEY UPDATE tag_ids = IF({_SAME_ROW}, VALUES(tag_ids), user_tags.tag_ids), "
                f"tag_details = IF({_SAME_ROW}, VALUES(tag_details), user_tags.tag_details), "
                f"updated_time = IF({_SAME_ROW}, VALUES(updated_time), user_tags.updated_time)", (now, now))
    if cur.rowcount != 2 * existing:
        raise TagWriteError(f"user_tags write failed while merging the staged rows into user_tags: "
                            f"{2 * existing - cur.rowcount} of the {existing} rows to update were "
                            "deleted or re-created since the run read user_tags; user_tags was left as it was "
                            "before the run (run it again)")


def _code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


# --- SQLite ------------------------------------------------------------------------------

def _merge_sqlite(engine: sa.Engine, files: list[Path], expected: int, now: datetime,
                  before_merge: Callable[[object], None] | None,
                  in_transaction: InTransaction | None) -> dict[str, float]:
    started = time.perf_counter()
    # a new row takes the id the run gave it (a row that took it since fails the merge);
    # an existing one is found by user_id
    merge = sa.text(
        "INSERT INTO user_tags (id, user_id, tag_ids, tag_details, created_time, updated_time) "
        f"SELECT CASE WHEN new_row = 1 AND id <> 0 THEN id END, user_id, tag_ids, tag_details, :now, :now "
        f"FROM temp.{STAGE} WHERE true ORDER BY user_id "
        "ON CONFLICT (user_id) DO UPDATE SET tag_ids = excluded.tag_ids, tag_details = excluded.tag_details, "
        "updated_time = excluded.updated_time").bindparams(sa.bindparam("now", type_=sa.DateTime()))
    with step("connecting to the database"):
        conn = engine.connect()
    try:
        with step("creating the staging table"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
            conn.exec_driver_sql(f"CREATE TEMP TABLE {STAGE} (id INTEGER NOT NULL, user_id TEXT NOT NULL, "
                                 "tag_ids TEXT NOT NULL, tag_details TEXT NOT NULL, new_row INTEGER NOT NULL)")
            conn.commit()
        with step("loading the changed rows into the staging table"):
            loaded = 0
            for batch in _batches(csv_rows(files)):
                conn.exec_driver_sql(f"INSERT INTO temp.{STAGE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?)", batch)
                loaded += len(batch)
            if loaded != expected:
                raise TagWriteError(f"user_tags write failed while loading the changed rows into the staging "
                                    f"table: {loaded} rows loaded, {expected} expected; user_tags was left as "
                                    "it was before the run")
        staged = time.perf_counter()
        if before_merge:
            before_merge(conn)
        with step("merging the staged rows into user_tags"):
            conn.execute(merge, {"now": now})
        if in_transaction:
            in_transaction(lambda sql, params: conn.exec_driver_sql(sql.replace("%s", "?"), params), loaded)
        with step("committing the merge"):
            conn.commit()
        return {"stage": staged - started, "merge": time.perf_counter() - staged}
    finally:
        conn.rollback()
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
        conn.commit()
        conn.close()


def upsert_changed_rows(engine: sa.Engine, files: list[Path], expected: int, now: datetime,
                       before_merge: Callable[[object], None] | None = None,
                       table: str | None = None, in_transaction: InTransaction | None = None) -> dict[str, float]:
    """Stage the rows of the CSV `files` (`expected` of them) and merge them into user_tags,
    all or nothing; or merge the rows Spark already wrote into the staging `table`
    (MariaDB/MySQL). `before_merge(connection)` runs just before the merge (tests interrupt
    there); `in_transaction(execute, rows merged)` after it, before the commit (`execute(sql,
    params)` with `%s` placeholders, on the merge's connection).
    Returns the seconds spent staging ("stage") and merging and committing ("merge")."""
    if engine.dialect.name == "sqlite":
        return _merge_sqlite(engine, files, expected, now, before_merge, in_transaction)
    elif engine.dialect.name in ("mysql", "mariadb"):
        return _merge_mysql(engine, files, expected, now, before_merge, table, in_transaction)
    else:
        raise TagWriteError(f"user_tags supports MariaDB/MySQL and SQLite, not {engine.dialect.name!r}")
