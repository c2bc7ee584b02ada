"""Handing a message to the outbox.

A message's identity is its dedupe key: queueing a key that was queued before does
nothing (the table's unique key guards it too), so a producer may hand the same message
on as often as it runs. A key longer than the column keeps its start and a digest of the
whole (`stored_key`), so distinct keys stay distinct.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from yd_platform.outbox.tables import DEDUPE_KEY_LENGTH, QUEUED, messages
from yd_platform.resources.app_db import fit_key, insert_ignore


@dataclass(frozen=True)
class Message:
    """One message to one channel.

    `kind` and `partition_key` say what it is about (an alert, an award notice of a
    campaign month, ...) so its producer can read back what became of it; `msgtype` is
    how a robot shows the body ("markdown" or "text"; e-mail always gets plain text).
    """

    dedupe_key: str
    channel: str
    kind: str
    title: str
    body: str
    msgtype: str = "markdown"
    partition_key: str | None = None


def stored_key(dedupe_key: str) -> str:
    """The key as the outbox stores it (what to look a message up by)."""
    return fit_key(dedupe_key, DEDUPE_KEY_LENGTH)


def enqueue_all(conn: sa.Connection, items: Iterable[Message], now: float) -> int:
    """Queue the messages whose keys are new, in their order; returns how many were queued.

    Runs on the caller's connection, so a producer can queue messages in the same
    transaction as its own state (nothing lost, nothing queued twice after a crash).
    """
    rows = [dict(dedupe_key=stored_key(m.dedupe_key), channel=m.channel, kind=m.kind,
                 partition_key=m.partition_key, msgtype=m.msgtype, title=m.title[:255], body=m.body,
                 status=QUEUED, attempts=0, next_attempt_at=now, created_at=now) for m in items]
    return insert_ignore(conn, messages, rows)


def enqueue(conn: sa.Connection, message: Message, now: float) -> bool:
    """Queue one message unless its key was queued before; True if queued."""
    return enqueue_all(conn, [message], now) == 1
