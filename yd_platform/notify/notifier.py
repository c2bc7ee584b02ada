"""From the Dagster event log to the outbox: scan, remember, escalate; then the outbox delivers.

`scan` reads check evaluations and run failures after the stored cursor and turns state
changes into outbox messages (a check+partition alerts once while it stays failed, and
says "recovered" when it passes again; a run over a range of partitions is tracked per
partition, see `notify.evaluations`). `escalate` re-sends unresolved ERRORs to the
escalation channels. `deliver` is the outbox's delivery over the channels of alerts.yaml
(per-minute limits, retries with backoff, claims). The clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa
from dagster import DagsterEventType, RunStatusChangeRecordsFilter

from yd_platform.datasets.check_results import evaluation_of, meta_value
from yd_platform.notify import messages
from yd_platform.notify.alert_state import alert_state, ensure_tables, get_cursor, seen_evaluations, set_cursor
from yd_platform.notify.config import NotifyConfig
from yd_platform.notify.evaluations import group, items_from_evaluation, partition_list
from yd_platform.outbox.channel_resources import ChannelsResource
from yd_platform.outbox.delivery import TICK_BUDGET_SECONDS, Delivery, DeliverySummary
from yd_platform.outbox.enqueue import Message, enqueue
from yd_platform.outbox.tables import ensure_tables as ensure_outbox

BATCH = 500
HISTORY_PER_CHECK = 25
HISTORY_MAX_PAGES = 40


def same_run_and_check(records: list) -> list[list]:
    """Execution records grouped by run and check, in order of their first record; runless
    evaluations stay one per group."""
    groups: dict[tuple, list] = {}
    for record in records:
        key = (record.run_id, record.key) if record.run_id else (record.id,)
        groups.setdefault(key, []).append(record)
    return list(groups.values())


@dataclass
class TickSummary(DeliverySummary):
    enqueued: int = 0
    escalated: int = 0

    def __str__(self) -> str:
        return f"enqueued {self.enqueued}, escalated {self.escalated}, " + super().__str__()


class Notifier:
    def __init__(self, engine: sa.Engine, config: NotifyConfig, channels: ChannelsResource, *,
                 clock: Callable[[], float] = time.time, budget_seconds: float = TICK_BUDGET_SECONDS,
                 timer: Callable[[], float] = time.monotonic):
        """`channels`: the channels' settings (the `alert_channels` resource);
        `budget_seconds`: how long one tick may spend sending (measured by `timer`); it
        stays well inside the sensor's own deadline, so ticks do not pile up."""
        self.engine = engine
        self.config = config
        self.channels = channels
        self.clock = clock
        self.budget_seconds = budget_seconds
        self.timer = timer
        ensure_tables(engine)
        ensure_outbox(engine)

    # ---- routing -------------------------------------------------------------------------
    def enabled_channels(self) -> list[str]:
        return [name for name, ch in self.config.channels.items() if not self.channels.missing(name, ch)]

    def _route(self, names: list[str]) -> list[str]:
        enabled = set(self.enabled_channels())
        return [n for n in dict.fromkeys(names) if n in enabled]

    # ---- scan ----------------------------------------------------------------------------
    def scan(self, instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> int:
        """Turn new evaluations and run failures into outbox messages; returns how many.

        Evaluations are read per check from the check-execution history (it works on every
        instance storage, run-sharded SQLite included); the executions already handled are
        remembered in the app database, which is the cursor. Each execution is handled once.
        """
        with self.engine.connect() as conn:
            fresh = [r for key in check_keys for r in self._unseen_executions(instance, conn, key)]
        fresh.sort(key=lambda r: (r.event.timestamp, r.id))
        count = 0
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start:start + BATCH]
            with self.engine.begin() as conn:
                seen = self._seen(conn, [r.id for r in chunk])
                for records in same_run_and_check([r for r in chunk if r.id not in seen]):
                    count += self._on_evaluation(conn, records[0].id,
                                                 [r.event.dagster_event.event_specific_data for r in records])
                    for record in records:
                        conn.execute(sa.insert(seen_evaluations).values(execution_id=record.id,
                                                                        seen_at=self.clock()))
        return count + self._scan_run_failures(instance)

    @staticmethod
    def _seen(conn: sa.Connection, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        return set(conn.execute(sa.select(seen_evaluations.c.execution_id).where(
            seen_evaluations.c.execution_id.in_(ids))).scalars())

    def _unseen_executions(self, instance: dg.DagsterInstance, conn: sa.Connection, key: dg.AssetCheckKey) -> list:
        """Finished executions of one check not handled yet, newest pages first.

        Usually the first page holds them all; after the sensor was stopped for a while
        (or a backfill ran many times) older pages are read until one has nothing new.
        """
        storage = instance.event_log_storage
        out, cursor = [], None
        for _ in range(HISTORY_MAX_PAGES):
            page = storage.get_asset_check_execution_history(key, limit=HISTORY_PER_CHECK, cursor=cursor)
            seen = self._seen(conn, [r.id for r in page])
            unseen = [r for r in page if r.id not in seen and evaluation_of(r) is not None]
            out += unseen
            if len(page) < HISTORY_PER_CHECK or not unseen:
                break
            cursor = page[-1].id
        return out

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

    def _on_evaluation(self, conn: sa.Connection, execution_id: int, evaluations: list) -> int:
        """Alert the partitions that start failing, announce the ones that pass again; the
        evaluations of one check in one run (a range run's partitions) make one message."""
        now = self.clock()
        failing_now, recovered = [], []
        evaluation = evaluations[0]
        for item in (i for ev in evaluations for i in items_from_evaluation(ev)):
            state = conn.execute(sa.select(alert_state).where(self._state_key(item))).mappings().first()
            was_failing = state is not None and state["status"] == "failing"
            if not item.passed and not was_failing:
                failing_now.append((item, state))
            elif item.passed and was_failing:
                recovered.append((item, state))
        return self._alert(conn, execution_id, evaluation, failing_now, now) + \
            self._recover(conn, execution_id, recovered, now)

    @staticmethod
    def _state_key(item: messages.CheckFailure):
        return (alert_state.c.check_id == f"{item.asset}:{item.check}") & (alert_state.c.partition_key == item.partition)

    def _alert(self, conn: sa.Connection, execution_id: int, evaluation, items: list, now: float) -> int:
        if not items:
            return 0
        meta_channels = meta_value(evaluation.metadata or {}, "channels")
        channels = self._route(str(meta_channels).split(",") if meta_channels else self.config.default_channels)
        summary = group([item for item, _ in items])
        title, body = messages.failure_message(summary)
        for item, state in items:
            values = dict(status="failing", severity=item.severity, first_failed_at=now, escalated=False,
                          channels=",".join(channels), title=title[:255],
                          link=messages.check_link(item.asset, item.check), updated_at=now)
            if state is None:
                conn.execute(sa.insert(alert_state).values(
                    check_id=f"{item.asset}:{item.check}", partition_key=item.partition, **values))
            else:
                conn.execute(sa.update(alert_state).where(self._state_key(item)).values(**values))
        return sum(enqueue(conn, Message(f"alert:{execution_id}:{ch}", ch, "alert", title, body), now)
                   for ch in channels)

    def _recover(self, conn: sa.Connection, execution_id: int, items: list, now: float) -> int:
        """One "recovered" message per channel that was told about (or escalated) the failure."""
        by_channel: dict[str, list[messages.CheckFailure]] = {}
        for item, state in items:
            channels = [c for c in state["channels"].split(",") if c]
            if state["escalated"]:
                channels += self._route(self.config.escalation_channels)
            for ch in dict.fromkeys(channels):
                by_channel.setdefault(ch, []).append(item)
            conn.execute(sa.update(alert_state).where(self._state_key(item)).values(status="passing", updated_at=now))
        count = 0
        for ch, recovered in by_channel.items():
            title, body = messages.recovered_message(group(recovered))
            count += enqueue(conn, Message(f"recovered:{execution_id}:{ch}", ch, "recovered", title, body), now)
        return count

    def _on_run_failure(self, conn: sa.Connection, record) -> int:
        if not self.config.notify_run_failures:
            return 0
        entry = record.event_log_entry
        event = entry.dagster_event
        title, body = messages.run_failure_message(event.job_name or "?", entry.run_id, event.message or "")
        return sum(enqueue(conn, Message(f"run:{entry.run_id}:{ch}", ch, "run_failure", title, body), self.clock())
                   for ch in self._route(self.config.default_channels))

    # ---- escalate ------------------------------------------------------------------------
    def escalate(self) -> int:
        """Queue escalations for ERRORs failing longer than `escalate_after_minutes`.

        Partitions that failed in one evaluation (same check, same alert) escalate in one
        message, as they were alerted in one.
        """
        now = self.clock()
        limit = now - self.config.escalate_after_minutes * 60
        channels = self._route(self.config.escalation_channels)
        count = 0
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(alert_state).where(
                (alert_state.c.status == "failing") & (alert_state.c.severity == "ERROR")
                & (alert_state.c.escalated == sa.false()) & (alert_state.c.first_failed_at <= limit)
            ).order_by(alert_state.c.check_id, alert_state.c.partition_key)).mappings().all()
            groups: dict[tuple, list] = {}
            for row in rows:
                groups.setdefault((row["check_id"], row["title"], row["first_failed_at"]), []).append(row)
            for (check_id, _alert_title, first_failed_at), members in groups.items():
                asset, check = check_id.rsplit(":", 1)
                still = partition_list([row["partition_key"] for row in members])
                title = f"[{members[0]['severity']}] {asset} {check} {still}".strip()
                title, body = messages.escalation_message(title, members[0]["link"], (now - first_failed_at) / 60)
                for ch in channels:
                    key = f"escalate:{check_id}:{members[0]['partition_key']}:{first_failed_at:.3f}:{ch}"
                    count += enqueue(conn, Message(key, ch, "escalation", title, body), now)
                for row in members:
                    conn.execute(sa.update(alert_state).where(
                        (alert_state.c.check_id == check_id) & (alert_state.c.partition_key == row["partition_key"])
                    ).values(escalated=True, updated_at=now))
        return count

    # ---- deliver -------------------------------------------------------------------------
    def delivery(self) -> Delivery:
        """The outbox's delivery over the channels of alerts.yaml, within the tick's budget."""
        return Delivery(self.engine, self.config.channels, self.channels, retry=self.config.retry_policy(),
                        clock=self.clock, timer=self.timer, budget_seconds=self.budget_seconds)

    def deliver(self, summary: TickSummary | None = None) -> TickSummary:
        """Send the due messages of these channels (see `outbox.delivery`)."""
        return self.delivery().run(summary=summary if summary is not None else TickSummary())

    def tick(self, instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> TickSummary:
        summary = TickSummary(enqueued=self.scan(instance, check_keys))
        summary.escalated = self.escalate()
        return self.deliver(summary)
