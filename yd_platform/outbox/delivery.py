"""Sending what is due: oldest first, exactly once, within each robot's per-minute limit,
with retries, pauses after a robot's rate-limit answer, and a time budget.

A delivery sends the due messages of the channels it is given (`channels`: name ->
config, `settings`: what they reach people with), optionally only those of a `Scope`
(kinds, partition). Each message is claimed before it is sent (`outbox.claims`), so a
delivery overlapping this one never sends it too. What does not fit a robot's per-minute
budget (its channels' messages sent in the last minute, by anyone, count), waits out a
robot's rate-limit block, or is left when the time budget is spent stays queued for a
later delivery; nothing is dropped. A channel that failed once in this delivery (a robot
that hangs, say) is not tried again in it. In shadow mode (`settings.shadow`) nothing is
sent: the due messages are held (`outbox.shadow`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa

from yd_platform.outbox.channel_config import ChannelConfig
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.claims import claim_next, due_condition, finish, sending_or_sent_since
from yd_platform.outbox.errors import DeliveryError
from yd_platform.outbox.pauses import pause_channel, paused_until
from yd_platform.outbox.retry import RetryPolicy
from yd_platform.outbox.shadow import SHADOW_VARIABLE, hold_due
from yd_platform.outbox.tables import FAILED, QUEUED, SENDING, SENT, SKIPPED, ensure_tables, messages

log = logging.getLogger(__name__)
# A sensor evaluation is cut off after 60 s; a tick's sending stops well before, and the
# rest of the outbox waits for the next tick.
TICK_BUDGET_SECONDS = 30.0
# A claimed message is due again this long after its request timeout (its sender died).
LEASE_MARGIN_SECONDS = 60.0
RATE_LIMIT_PAUSE_SECONDS = 60.0
ERRORS_KEPT = 20


@dataclass(frozen=True)
class Scope:
    """Which messages a delivery is about: of these kinds (None: any), of this partition
    (None: any)."""

    kinds: tuple[str, ...] | None = None
    partition_key: str | None = None

    def conditions(self) -> list:
        out = []
        if self.kinds is not None:
            out.append(messages.c.kind.in_(list(self.kinds)))
        if self.partition_key is not None:
            out.append(messages.c.partition_key == self.partition_key)
        return out


@dataclass
class DeliverySummary:
    """What one delivery did. `retried` counts messages queued again (rate limits
    included, then `rate_limited` is set); `disabled` names channels with due messages but
    no settings; `unconfirmed` the dedupe keys of claims a dead sender left; `held` the
    messages kept back in shadow mode (`shadow`)."""

    sent: int = 0
    held: int = 0
    shadow: bool = False
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: bool = False
    out_of_time: bool = False
    disabled: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.shadow:
            return f"SHADOW MODE ({SHADOW_VARIABLE}): held {self.held}, sent nothing"
        text = f"sent {self.sent}, retry later {self.retried}, undeliverable {self.failed}"
        text += "; tick time budget spent, the rest stays queued" if self.out_of_time else ""
        return text + (f"; channels without their env vars: {', '.join(self.disabled)}" if self.disabled else "")


def limit_groups(channels: Mapping[str, ChannelConfig]) -> dict[str, list[str]]:
    """Channel names per rate limit: one robot's limit covers every channel using it."""
    groups: dict[str, list[str]] = {}
    for name, channel in channels.items():
        groups.setdefault(channel.limit_key or f"channel:{name}", []).append(name)
    return groups


class Delivery:
    def __init__(self, engine: sa.Engine, channels: Mapping[str, ChannelConfig], settings: ChannelsResource, *,
                 retry: RetryPolicy = RetryPolicy(), clock: Callable[[], float] = time.time,
                 timer: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 budget_seconds: float | None = TICK_BUDGET_SECONDS, interval_seconds: float = 0.0,
                 unset: Literal["wait", "skip"] = "wait"):
        """`budget_seconds`: how long one delivery may spend sending (None: until done);
        `interval_seconds`: the pause between two messages; `unset`: what becomes of due
        messages of a channel without settings, "wait" (queued, listed as disabled) or
        "skip" (never sent, so setting the channel up later does not flood it)."""
        self.engine = engine
        self.channels = dict(channels)
        self.settings = settings
        self.retry = retry
        self.clock = clock
        self.timer = timer
        self.sleep = sleep
        self.budget_seconds = budget_seconds
        self.interval_seconds = interval_seconds
        self.unset = unset
        ensure_tables(engine)

    def run(self, scope: Scope = Scope(), summary: DeliverySummary | None = None) -> DeliverySummary:
        summary = summary if summary is not None else DeliverySummary()
        started = self.timer()
        groups = limit_groups(self.channels)
        group_of = {name: key for key, names in groups.items() for name in names}
        now = self.clock()
        where = scope.conditions()
        if self.settings.shadow:
            summary.shadow = True
            summary.held += hold_due(self.engine, self.channels, where, now)
            return summary
        missing = {n for n, ch in self.channels.items() if self.settings.missing(n, ch)}
        waiting = self._channels_with_due_messages(now, where)
        if self.unset == "skip":
            summary.skipped += self._skip(sorted(waiting & missing), where, now)
        else:
            summary.disabled += sorted(n for n in waiting & missing if n not in summary.disabled)
        if not self.retry.resend_unconfirmed:
            summary.unconfirmed += self._unconfirmed(now, where)
        with self.engine.connect() as conn:
            paused = {key for key, names in groups.items() if any(paused_until(conn, n) > now for n in names)}
        skip = missing | (waiting - set(self.channels)) | {n for n in self.channels if group_of[n] in paused}
        lease = max([ch.timeout_seconds for ch in self.channels.values()] or [0]) + LEASE_MARGIN_SECONDS
        first = True
        while True:
            skip |= self._over_budget(groups, skip)
            open_channels = [n for n in self.channels if n not in skip]
            longest = max([self.channels[n].timeout_seconds for n in open_channels] or [0])
            if self.budget_seconds is not None and self.timer() - started + longest > self.budget_seconds:
                summary.out_of_time = True
                break
            row = claim_next(self.engine, self.clock(), lease, skip, where, reclaim=self.retry.resend_unconfirmed)
            if row is None:
                break
            if self.interval_seconds and not first:
                self.sleep(self.interval_seconds)
            first = False
            name = row["channel"]
            try:
                self.settings.send(name, self.channels[name], row["title"], row["body"], row["msgtype"])
            except DeliveryError as exc:
                self._after_error(row, exc, summary, groups[group_of[name]])
                if exc.retryable:
                    skip.update(groups[group_of[name]])
                continue
            finish(self.engine, row["id"], status=SENT, sent_at=self.clock(), attempts=row["attempts"] + 1,
                   last_error=None)
            summary.sent += 1
        return summary

    def _over_budget(self, groups: dict[str, list[str]], skip: set[str]) -> set[str]:
        """Channels of robots whose last minute is used up (by anyone), read afresh before
        each message: the window moves on while a delivery runs."""
        now = self.clock()
        full: set[str] = set()
        with self.engine.connect() as conn:
            for names in groups.values():
                if all(n in skip for n in names):
                    continue
                limit = min(self.channels[n].per_minute for n in names)
                if sending_or_sent_since(conn, names, now - 60) >= limit:
                    full.update(names)
        return full

    def _channels_with_due_messages(self, now: float, where: list) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(messages.c.channel).where(
                due_condition(now, self.retry.resend_unconfirmed), *where).distinct()).scalars())

    def _skip(self, channels: list[str], where: list, now: float) -> int:
        if not channels:
            return 0
        with self.engine.begin() as conn:
            done = 0
            for name in channels:
                reason = f"{', '.join(self.settings.missing(name, self.channels[name]))} unset"
                done += conn.execute(sa.update(messages).where(
                    (messages.c.channel == name) & (messages.c.status == QUEUED), *where
                ).values(status=SKIPPED, last_error=reason)).rowcount
        return done

    def _unconfirmed(self, now: float, where: list) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(messages.c.dedupe_key).where(
                (messages.c.status == SENDING) & (messages.c.next_attempt_at <= now), *where)).scalars())

    def _after_error(self, row, exc: DeliveryError, summary: DeliverySummary, same_limit: list[str]) -> None:
        now = self.clock()
        attempts = row["attempts"] + 1
        if exc.rate_limited:  # not the message's fault: the attempt is not counted
            pause = exc.pause_seconds or RATE_LIMIT_PAUSE_SECONDS
            values = dict(status=QUEUED, next_attempt_at=now + pause, last_error=str(exc))
            with self.engine.begin() as conn:
                for name in same_limit:
                    pause_channel(conn, name, now + pause)
            summary.retried += 1
            summary.rate_limited = True
        elif exc.retryable and not self.retry.gives_up(attempts):
            values = dict(status=QUEUED, attempts=attempts, next_attempt_at=now + self.retry.delay(attempts),
                          last_error=str(exc))
            summary.retried += 1
        else:
            values = dict(attempts=attempts, status=FAILED, last_error=str(exc))
            summary.failed += 1
        if len(summary.errors) < ERRORS_KEPT:
            summary.errors.append(f"{row['dedupe_key']}: {exc}")
        log.warning("outbox message %s to %s not delivered: %s", row["id"], row["channel"], exc)
        finish(self.engine, row["id"], **values)
