"""From the Dagster event log to people: scan, remember, escalate, deliver.

`scan` reads check evaluations and run failures after the stored cursor and turns state
changes into outbox messages (a check+partition alerts once while it stays failed, and
says "recovered" when it passes again). `escalate` re-sends unresolved ERRORs to the
escalation channels. `deliver` sends due messages within each channel's per-minute limit,
retrying failures with exponential backoff. The clock is injectable for tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa
from dagster import DagsterEventType, RunStatusChangeRecordsFilter

from yd_platform.notify import messages
from yd_platform.notify.channels import DeliveryError, deliver
from yd_platform.notify.config import ChannelConfig, NotifyConfig
from yd_platform.notify.outbox import (
    alert_state,
    enqueue,
    ensure_tables,
    get_cursor,
    outbox,
    seen_evaluations,
    set_cursor,
)

log = logging.getLogger(__name__)
BATCH = 500
HISTORY_PER_CHECK = 25
RATE_LIMIT_PAUSE_SECONDS = 60.0

Sender = Callable[[str, ChannelConfig, str, str], None]


def default_sender(_name: str, channel: ChannelConfig, title: str, body: str) -> None:
    deliver(channel, title, body)


def evaluation_of(record) -> dg.AssetCheckEvaluation | None:
    """The evaluation of a check-execution record (None while it is only planned)."""
    event = record.event.dagster_event if record.event is not None else None
    data = event.event_specific_data if event is not None else None
    return data if isinstance(data, dg.AssetCheckEvaluation) else None


def _meta_value(metadata, key: str):
    item = metadata.get(key)
    return getattr(item, "value", item) if item is not None else None


def _failure_from_evaluation(evaluation) -> messages.CheckFailure:
    meta = evaluation.metadata or {}
    figure = next((str(_meta_value(meta, k)) for k in messages.FIGURE_KEYS if _meta_value(meta, k) is not None), "-")
    return messages.CheckFailure(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        partition=evaluation.partition or str(_meta_value(meta, "partition") or ""),
        severity=evaluation.severity.value,
        passed=evaluation.passed,
        description=evaluation.description or "",
        figure=figure,
        sample=str(_meta_value(meta, "sample") or ""),
    )


@dataclass
class TickSummary:
    enqueued: int = 0
    escalated: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"enqueued {self.enqueued}, escalated {self.escalated}, sent {self.sent}, "
                f"retry later {self.retried}, undeliverable {self.failed}")
        return text + (f"; channels without their env vars: {', '.join(self.disabled)}" if self.disabled else "")


class Notifier:
    def __init__(self, engine: sa.Engine, config: NotifyConfig, *, clock: Callable[[], float] = time.time,
                 sender: Sender = default_sender):
        self.engine = engine
        self.config = config
        self.clock = clock
        self.sender = sender
        ensure_tables(engine)

    # ---- routing -------------------------------------------------------------------------
    def enabled_channels(self) -> list[str]:
        return [name for name, ch in self.config.channels.items() if not ch.missing_env()]

    def _route(self, names: list[str]) -> list[str]:
        enabled = set(self.enabled_channels())
        return [n for n in dict.fromkeys(names) if n in enabled]

    # ---- scan ----------------------------------------------------------------------------
    def scan(self, instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> int:
        """Turn new evaluations and run failures into outbox messages; returns how many.

        Evaluations are read per check from the check-execution history (it works on every
        instance storage, run-sharded SQLite included); each execution is handled once.
        """
        storage = instance.event_log_storage
        fresh = []
        for key in check_keys:
            for record in storage.get_asset_check_execution_history(key, limit=HISTORY_PER_CHECK):
                if evaluation_of(record) is not None:
                    fresh.append(record)
        fresh.sort(key=lambda r: (r.event.timestamp, r.id))
        count = 0
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start:start + BATCH]
            with self.engine.begin() as conn:
                seen = set(conn.execute(sa.select(seen_evaluations.c.execution_id).where(
                    seen_evaluations.c.execution_id.in_([r.id for r in chunk]))).scalars())
                for record in chunk:
                    if record.id in seen:
                        continue
                    count += self._on_evaluation(conn, record.id, record.event.dagster_event.event_specific_data)
                    conn.execute(sa.insert(seen_evaluations).values(execution_id=record.id, seen_at=self.clock()))
        return count + self._scan_run_failures(instance)

    def _scan_run_failures(self, instance: dg.DagsterInstance) -> int:
        count = 0
        while True:
            with self.engine.begin() as conn:
                after = get_cursor(conn, "run_failures")
                result = instance.fetch_run_status_changes(
                    RunStatusChangeRecordsFilter(DagsterEventType.RUN_FAILURE, after_storage_id=after or None),
                    limit=BATCH, ascending=True,
                )
                for record in result.records:
                    count += self._on_run_failure(conn, record)
                if result.records:
                    set_cursor(conn, "run_failures", result.records[-1].storage_id)
            if len(result.records) < BATCH:
                return count

    def _on_evaluation(self, conn: sa.Connection, execution_id: int, evaluation) -> int:
        item = _failure_from_evaluation(evaluation)
        check_id = f"{item.asset}:{item.check}"
        key = (alert_state.c.check_id == check_id) & (alert_state.c.partition_key == item.partition)
        state = conn.execute(sa.select(alert_state).where(key)).mappings().first()
        now = self.clock()
        failing = state is not None and state["status"] == "failing"
        if not item.passed:
            if failing:
                return 0
            meta_channels = _meta_value(evaluation.metadata or {}, "channels")
            wanted = str(meta_channels).split(",") if meta_channels else self.config.default_channels
            channels = self._route(wanted)
            title, body = messages.failure_message(item)
            values = dict(status="failing", severity=item.severity, first_failed_at=now, escalated=False,
                          channels=",".join(channels), title=title[:255],
                          link=messages.check_link(item.asset, item.check), updated_at=now)
            if state is None:
                conn.execute(sa.insert(alert_state).values(check_id=check_id, partition_key=item.partition, **values))
            else:
                conn.execute(sa.update(alert_state).where(key).values(**values))
            return sum(enqueue(conn, dedupe_key=f"alert:{execution_id}:{ch}", channel=ch, kind="alert",
                               title=title, body=body, now=now) for ch in channels)
        if not failing:
            return 0
        channels = [c for c in state["channels"].split(",") if c]
        if state["escalated"]:
            channels += self._route(self.config.escalation_channels)
        conn.execute(sa.update(alert_state).where(key).values(status="passing", updated_at=now))
        title, body = messages.recovered_message(item)
        return sum(enqueue(conn, dedupe_key=f"recovered:{execution_id}:{ch}", channel=ch, kind="recovered",
                           title=title, body=body, now=now) for ch in dict.fromkeys(channels))

    def _on_run_failure(self, conn: sa.Connection, record) -> int:
        if not self.config.notify_run_failures:
            return 0
        entry = record.event_log_entry
        event = entry.dagster_event
        title, body = messages.run_failure_message(event.job_name or "?", entry.run_id, event.message or "")
        return sum(enqueue(conn, dedupe_key=f"run:{entry.run_id}:{ch}", channel=ch, kind="run_failure",
                           title=title, body=body, now=self.clock())
                   for ch in self._route(self.config.default_channels))

    # ---- escalate ------------------------------------------------------------------------
    def escalate(self) -> int:
        """Queue escalations for ERRORs failing longer than `escalate_after_minutes`."""
        now = self.clock()
        limit = now - self.config.escalate_after_minutes * 60
        channels = self._route(self.config.escalation_channels)
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(alert_state).where(
                (alert_state.c.status == "failing") & (alert_state.c.severity == "ERROR")
                & (alert_state.c.escalated == sa.false()) & (alert_state.c.first_failed_at <= limit)
            )).mappings().all()
            for row in rows:
                title, body = messages.escalation_message(row["title"], row["link"], (now - row["first_failed_at"]) / 60)
                for ch in channels:
                    count += enqueue(conn, dedupe_key=f"escalate:{row['check_id']}:{row['partition_key']}:"
                                     f"{row['first_failed_at']:.3f}:{ch}", channel=ch, kind="escalation",
                                     title=title, body=body, now=now)
                conn.execute(sa.update(alert_state).where(
                    (alert_state.c.check_id == row["check_id"]) & (alert_state.c.partition_key == row["partition_key"])
                ).values(escalated=True, updated_at=now))
        return count

    # ---- deliver -------------------------------------------------------------------------
    def _sent_last_minute(self, conn: sa.Connection, channel: str, now: float) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(outbox).where(
            (outbox.c.channel == channel) & (outbox.c.sent_at > now - 60))).scalar() or 0

    def deliver(self, summary: TickSummary | None = None) -> TickSummary:
        summary = summary or TickSummary()
        now = self.clock()
        with self.engine.connect() as conn:
            due = conn.execute(sa.select(outbox).where(
                (outbox.c.status == "queued") & (outbox.c.next_attempt_at <= now)
            ).order_by(outbox.c.id)).mappings().all()
            budget = {name: self.config.channels[name].per_minute - self._sent_last_minute(conn, name, now)
                      for name in self.config.channels}
        paused: set[str] = set()
        for row in due:
            name = row["channel"]
            channel = self.config.channels.get(name)
            if channel is None or name in paused or budget.get(name, 0) <= 0:
                continue
            if channel.missing_env():
                if name not in summary.disabled:
                    summary.disabled.append(name)
                continue
            try:
                self.sender(name, channel, row["title"], row["body"])
            except DeliveryError as exc:
                self._after_error(row, exc, now, summary)
                if exc.rate_limited:
                    paused.add(name)
                continue
            budget[name] -= 1
            with self.engine.begin() as conn:
                conn.execute(sa.update(outbox).where(outbox.c.id == row["id"]).values(
                    status="sent", sent_at=now, attempts=row["attempts"] + 1, last_error=None))
            summary.sent += 1
        return summary

    def _after_error(self, row, exc: DeliveryError, now: float, summary: TickSummary) -> None:
        attempts = row["attempts"] + 1
        if exc.rate_limited:
            values = dict(next_attempt_at=now + RATE_LIMIT_PAUSE_SECONDS, last_error=str(exc))
            summary.retried += 1
        elif exc.retryable:
            delay = min(self.config.retry_base_seconds * 2 ** (attempts - 1), self.config.retry_max_seconds)
            values = dict(attempts=attempts, next_attempt_at=now + delay, last_error=str(exc))
            summary.retried += 1
        else:
            values = dict(attempts=attempts, status="failed", last_error=str(exc))
            summary.failed += 1
        log.warning("notification %s to %s not delivered: %s", row["id"], row["channel"], exc)
        with self.engine.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == row["id"]).values(**values))

    def tick(self, instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> TickSummary:
        summary = TickSummary(enqueued=self.scan(instance, check_keys))
        summary.escalated = self.escalate()
        return self.deliver(summary)
