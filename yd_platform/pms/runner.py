"""Run one PMS service: its transaction, immediate notifications, the JSON log line, the SLA.

Used alike by the Dagster assets, `yd-platform pms run` and the benchmark, so a service
behaves the same however it is started.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from yd_platform.pms import delivery
from yd_platform.pms.config import PmsConfig, load_pms_config
from yd_platform.pms.context import SLA_RULE, ServiceContext
from yd_platform.pms.services import service_function

log = logging.getLogger("yd_platform.pms.jobs")


def local_now(value: datetime | str | None, tz: str) -> datetime:
    """`value` (ISO string or datetime; naive means Asia/Shanghai wall time) as naive local time."""
    zone = ZoneInfo(tz)
    if value is None or value == "":
        return datetime.now(zone).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"--now {value!r} is not an ISO date-time such as 2026-03-02T08:00") from None
    return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value


def log_line(event: str, svc, duration_ms: float | None = None, **extra) -> str:
    line = json.dumps({"job_id": svc.id, "job_name": svc.name, "owner": svc.owner, "category": svc.category,
                       "event": event, "duration_ms": None if duration_ms is None else round(duration_ms, 2),
                       "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       **extra}, ensure_ascii=False)
    log.info(line)
    return line


def _context(conn, now, config, svc, partition, outbox) -> ServiceContext:
    return ServiceContext(conn=conn, now=now, config=config, service=svc, partition=partition, outbox=outbox)


def run_service(service_id: str, engine: sa.Engine, *, now: datetime | str | None = None, partition: str | None = None,
                outbox: delivery.OutboxLink | None = None, config: PmsConfig | None = None,
                emit: Callable[[str], None] | None = None) -> dict:
    """Run a service as of `now`; returns its summary (alerts created and escalated, rows
    written per table, the service's own figures, duration and SLA). The service's writes
    are one transaction: it either happens as a whole or not at all. `skipped` names the rows
    left out because a value they needed is missing (table, column, reason, count, ids); a
    row that cannot be left out stops the run with an error naming table, id and columns."""
    config = config or load_pms_config()
    svc = config.service(service_id)
    func = service_function(svc.id)
    when = local_now(now, config.timezone)
    emit = emit or (lambda line: None)
    started = time.perf_counter()
    try:
        with engine.begin() as conn:
            ctx = _context(conn, when, config, svc, partition, outbox)
            result = func(ctx) or {}
            ctx.flush()
        notified = _notify_now(engine, when, config, svc, outbox, ctx.notify_alert_ids)
    except Exception as exc:
        emit(log_line("job_run_failed", svc, (time.perf_counter() - started) * 1000, error=str(exc)[:500]))
        raise
    duration_ms = (time.perf_counter() - started) * 1000
    breached = duration_ms / 1000 > svc.sla.max_execution_time_seconds
    if breached:
        _sla_alert(engine, when, config, svc, duration_ms)
    emit(log_line("job_run_success", svc, duration_ms, alerts_created=ctx.alerts_created, sla_breached=breached,
                  skipped_rows=len(ctx.skipped), skipped=ctx.skipped.lines()[:20]))
    return {"job_id": svc.id, "job_name": svc.name, "now": when.isoformat(), "partition": partition,
            "alerts_created": ctx.alerts_created, "alerts_escalated": ctx.alerts_escalated,
            "rows_written": dict(sorted(ctx.rows_written.items())), "notifications": notified,
            "result": result, "skipped": ctx.skipped.summary(), "duration_ms": round(duration_ms, 2),
            "sla_seconds": svc.sla.max_execution_time_seconds, "sla_breached": breached}


def _notify_now(engine, when, config, svc, outbox, alert_ids: list[int]) -> dict:
    """Services that notify at once hand their new alerts on right after committing them."""
    if not alert_ids:
        return {}
    with engine.begin() as conn:
        ctx = _context(conn, when, config, svc, None, outbox)
        _, created = delivery.queue_alert_notifications(ctx, alert_ids)
        counts = delivery.dispatch_due(ctx, outbox, alert_ids=alert_ids, limit=max(100, created))
    if outbox is not None:
        delivery.deliver(outbox)
        with engine.begin() as conn:
            counts |= {f"outbox_{k}": v for k, v in delivery.sync_from_outbox(_context(conn, when, config, svc, None, outbox), outbox).items()}
    return {"created": created, **counts}


def _sla_alert(engine, when, config, svc, duration_ms: float) -> None:
    """A run over its SLA is itself an alert (one open alert per service)."""
    sla = svc.sla.max_execution_time_seconds
    level = "CRITICAL" if duration_ms / 1000 > 2 * sla else "WARNING"
    with engine.begin() as conn:
        ctx = _context(conn, when, config, svc, None, None)
        ctx.raise_alert(SLA_RULE, target_id=[s.id for s in config.services].index(svc.id) + 1, level=level, prefix="SL",
                        title=f"定时任务超时：{svc.name}", target_no=svc.id, target_name=svc.name,
                        content=f"{svc.id} 运行 {duration_ms / 1000:.1f} 秒，超过 SLA {sla:g} 秒",
                        trigger_value=round(duration_ms / 1000, 1), threshold_value=sla,
                        data={"duration_ms": round(duration_ms, 2), "owner": svc.owner})
