"""Reading PMS rows whose values may be missing, and naming the rows a service skips.

The PMS database belongs to the PMS: almost every column may be NULL (`schema.py` says
which), and a service cannot refuse the data it is given. So a service states, per read,
which nullable columns it *needs* to act on a row (a due date to compare, an amount to
multiply), optionally with the condition it puts on each. `read_rows` then

- returns the rows where every needed value is present and every condition holds, and
- asks the database for the rows of the same scope left out only because a needed value is
  NULL, and records each of them (table, id, column) in the run's `SkippedRows`,

so the run summary says what was not looked at and why, instead of a row silently dropping
out of a `WHERE` or a bare `TypeError` stopping every project. A NULL that has a meaning of
its own (no required date = no deadline, no approver = the approver role) is read as that
meaning and is not a skip.

`guard_row` is the second line: a per-row exception (a value of an unexpected shape) becomes
a named skip as long as the row wrote nothing yet; after a write the run cannot leave the row
half done, so it stops with `RowError` naming table, id and the row's NULL columns, and its
one transaction writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

MISSING = "NULL"
# ids listed per (table, column, reason) in a summary; the count says how many there were
IDS_SHOWN = 20

Needs = Mapping[sa.Column, Any] | Iterable[sa.Column]


class RowError(RuntimeError):
    """One row stops the run: its table, id and the columns that were NULL in it."""

    def __init__(self, table: str, row_id: Any, null_columns: list[str], error: BaseException):
        self.table, self.row_id, self.null_columns = table, row_id, null_columns
        nulls = f"; NULL in this row: {', '.join(null_columns)}" if null_columns else ""
        super().__init__(f"{table} id {row_id}: {type(error).__name__}: {str(error)[:500]}{nulls} "
                         "(the run stops here and writes nothing)")


@dataclass
class SkippedRows:
    """The rows a run left out, by table, column and reason (each row named once per cause)."""

    _ids: dict[tuple[str, str | None, str], list] = field(default_factory=lambda: defaultdict(list))
    _seen: set[tuple] = field(default_factory=set)

    def add(self, table: str, row_id: Any, column: str | None, reason: str = MISSING) -> None:
        key = (table, column, reason)
        if (key, row_id) not in self._seen:
            self._seen.add((key, row_id))
            self._ids[key].append(row_id)

    def __len__(self) -> int:
        return len(self._seen)

    def summary(self) -> list[dict]:
        """`[{table, column, reason, count, ids}]`, ids sorted and cut at IDS_SHOWN."""
        out = []
        for (table, column, reason), ids in sorted(self._ids.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])):
            shown = sorted(ids, key=lambda v: (v is None, str(type(v)), v if v is not None else 0))[:IDS_SHOWN]
            out.append({"table": table, "column": column, "reason": reason, "count": len(ids), "ids": shown})
        return out

    def lines(self) -> list[str]:
        """One short line per cause, for logs and the command line."""
        return [f"{s['table']}.{s['column'] or '?'} {s['reason']} x{s['count']}" for s in self.summary()]


def _needs(need: Needs) -> dict[sa.Column, Any]:
    return dict(need) if isinstance(need, Mapping) else {col: None for col in need}


def _label(col: sa.Column) -> str:
    return f"{col.table.name}__{col.name}"


def missing_filter(needs: dict[sa.Column, Any]) -> sa.ColumnElement[bool]:
    """Rows where some needed value is NULL and every other needed value is NULL or meets its
    condition: the rows left out for a missing value only (each NULL column gets named)."""
    branches = []
    for col in needs:
        others = [sa.or_(o.is_(None), cond) for o, cond in needs.items() if o is not col and cond is not None]
        branches.append(sa.and_(col.is_(None), *others))
    return sa.or_(*branches)


def name_missing(conn: sa.Connection, skipped: SkippedRows, query: sa.Select, need: Needs) -> None:
    """Record the rows of `query`'s scope whose needed values are NULL (see `missing_filter`).
    Columns the schema declares NOT NULL cannot be missing and are not asked about."""
    needs = {col: cond for col, cond in _needs(need).items() if col.nullable}
    if not needs:
        return
    tables = {col.table for col in needs}
    ids = [tbl.c.id.label(f"{tbl.name}__id") for tbl in sorted(tables, key=lambda x: x.name)]
    probe = query.with_only_columns(*ids, *(col.label(_label(col)) for col in needs), maintain_column_froms=True)
    probe = probe.where(missing_filter(needs)).order_by(None).limit(None)
    for row in conn.execute(probe).mappings():
        for col in needs:
            row_id = row[f"{col.table.name}__id"]
            if row[_label(col)] is None and row_id is not None:
                skipped.add(col.table.name, row_id, col.name)


def read_rows(conn: sa.Connection, skipped: SkippedRows, query: sa.Select, need: Needs) -> list[dict]:
    """The rows of `query` whose needed columns are all set and meet their conditions (`need`:
    column -> condition or None, or just the columns); the rows left out for a NULL are named
    in `skipped`."""
    needs = _needs(need)
    name_missing(conn, skipped, query, needs)
    where = [col.is_not(None) for col in needs] + [cond for cond in needs.values() if cond is not None]
    return [dict(r) for r in conn.execute(query.where(*where)).mappings()]


def null_columns(row: Mapping) -> list[str]:
    return sorted(k for k, v in row.items() if v is None)


class WriteCounter:
    """Counts the writing statements on a connection, so a guard knows whether a failed row
    already wrote something (and therefore cannot simply be skipped)."""

    def __init__(self, conn: sa.Connection):
        self.count = 0
        sa.event.listen(conn, "after_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement: str, parameters, context, executemany) -> None:
        if statement.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            self.count += 1


@contextmanager
def guard_row(skipped: SkippedRows, writes: WriteCounter, table: str, row: Mapping, *,
              row_id: Any = None, undo: Any = None) -> Iterator[None]:
    """Run one row's work; an exception becomes a skip naming table, id and cause, unless the
    row already wrote (then `RowError`). A database error is never skipped (the transaction
    may be unusable after it): it stops the run as it is, with a note naming the row.
    `undo()` drops what the row gathered without writing."""
    before = writes.count
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        exc.add_note(f"while processing {table} id {row.get('id') if row_id is None else row_id}")
        raise
    except Exception as exc:  # noqa: BLE001 - turned into a named skip or a named RowError
        row_id = row.get("id") if row_id is None else row_id
        nulls = null_columns(row)
        if writes.count != before:
            raise RowError(table, row_id, nulls, exc) from exc
        if undo is not None:
            undo()
        # a None in arithmetic or a comparison: the NULL columns of the row are the suspects
        column = ", ".join(nulls) if nulls and "NoneType" in str(exc) else None
        skipped.add(table, row_id, column, f"{type(exc).__name__}: {str(exc)[:200]}")
