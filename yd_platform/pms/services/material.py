"""Material, kitting, purchasing, outsourcing and specification services."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta

import sqlalchemy as sa

from yd_platform.pms import schema as t
from yd_platform.pms.context import OPEN_STATUSES, ServiceContext, as_date
from yd_platform.pms.services import service

KIT_SIGNIFICANT_CHANGE = 5.0


def shortage_level(days_left: int) -> str:
    """Overdue is the worst case, so it gets the top level (the old code ranked an imminent
    shortage above an overdue one)."""
    if days_left < 0:
        return "URGENT"
    if days_left <= 3:
        return "CRITICAL"
    return "WARNING" if days_left <= 7 else "INFO"


@service("generate_shortage_alerts")
def generate_shortage_alerts(ctx: ServiceContext) -> dict:
    """Open shortages by days to their required date; a shortage without one has no deadline
    (999 days, INFO), one without a quantity is alerted with the quantity unknown."""
    s = t.material_shortages.c
    rows = ctx.read(sa.select(t.material_shortages).where(s.status == "OPEN").order_by(s.id))
    for r in rows:
        with ctx.row("material_shortages", r):
            d = (as_date(r["required_date"]) - ctx.today).days if r["required_date"] else 999
            name = r["material_name"] or r["material_code"] or f"#{r['id']}"
            qty = None if r["shortage_qty"] is None else float(r["shortage_qty"])
            ctx.raise_alert(
                "MATERIAL_SHORTAGE", target_id=r["id"], level=shortage_level(d), prefix="SA",
                title=f"缺料预警：{name}", target_no=r["material_code"], target_name=f"{name} 缺料", project_id=r["project_id"],
                content=f"项目 {ctx.project_name(r['project_id'])} 缺料 {name} " + (f"{qty:g}" if qty is not None else "（数量未填）")
                        + "，" + (f"需求日期 {r['required_date']}（剩余 {d} 天）" if r["required_date"] else "无需求日期"),
                trigger_value=qty, threshold_value=0, data={"days_left": d}, notify_now=True)
    return {"checked": len(rows)}


@service("check_outsourcing_delivery_alerts")
def check_outsourcing_delivery_alerts(ctx: ServiceContext) -> dict:
    o = t.outsourcing_orders.c
    rows = ctx.read(sa.select(t.outsourcing_orders).where(o.status.in_(("CONFIRMED", "IN_PROGRESS"))),
                    need={o.required_date: o.required_date <= ctx.today + timedelta(days=3)})
    for r in rows:
        with ctx.row("outsourcing_orders", r):
            d = (as_date(r["required_date"]) - ctx.today).days
            title = "外协订单交期逾期" if d < 0 else "外协订单交期临近"
            ctx.raise_alert("OUTSOURCING_DELIVERY", target_id=r["id"], level="CRITICAL" if d < 0 else "WARNING",
                            prefix="OD", title=f"{title}：{r['order_no']}", target_no=r["order_no"],
                            target_name=r["order_title"], project_id=r["project_id"],
                            content=f"外协订单 {r['order_no']} 交期 {r['required_date']}，"
                                    + (f"已逾期 {-d} 天" if d < 0 else f"剩余 {d} 天"),
                            trigger_value=d, threshold_value=3, notify_now=True)
    return {"checked": len(rows)}


def kit_status(rate: float, shortage: int) -> str:
    if rate >= 100:
        return "齐套"
    if rate >= 80:
        return "部分到货"
    return "缺料" if shortage > 0 else "采购中"


@service("daily_kit_check")
def daily_kit_check(ctx: ServiceContext) -> dict:
    """Kitting rate per active project from its latest BOM, then low-kit alerts for work
    orders starting within 7 days. A project without BOM lines is left alone (the old code
    forced it to H3 with a rate of 0). A BOM line without quantity cannot be counted and is
    named as skipped; a line without received_qty has received nothing. A work order without
    its start date, or whose latest kit check has no rate, is named as skipped, and so is a kit
    check without its time (it cannot be the latest)."""
    p, h, i = t.projects.c, t.bom_headers.c, t.bom_items.c
    active = p.is_active.is_(True) & sa.not_(sa.func.coalesce(p.is_archived, False))
    ctx.name_missing(sa.select(t.bom_items).join(t.bom_headers, h.id == i.bom_id).join(t.projects, p.id == h.project_id)
                     .where(active & h.is_latest.is_(True) & i.material_id.is_not(None)), need=[i.quantity])
    lines = (sa.select(h.project_id, sa.func.count().label("total"),
                       sa.func.sum(sa.case((i.received_qty >= i.quantity, 1), else_=0)).label("fulfilled"))
             .select_from(t.bom_items.join(t.bom_headers, h.id == i.bom_id))
             .where(h.is_latest.is_(True) & i.material_id.is_not(None) & (i.quantity > 0))
             .group_by(h.project_id)).subquery()
    rows = ctx.conn.execute(sa.select(p.id, p.kitting_rate, p.health, lines.c.total, lines.c.fulfilled)
                            .join(lines, lines.c.project_id == p.id).where(active)).mappings().all()
    significant = []
    for r in rows:
        with ctx.row("projects", r):
            fulfilled = int(r["fulfilled"] or 0)
            shortage = int(r["total"]) - fulfilled
            rate = round(fulfilled / r["total"] * 100, 1)
            values = dict(kitting_rate=rate, shortage_items_count=shortage, material_status=kit_status(rate, shortage))
            if rate < 50:
                values["health"] = "H3"
            elif rate < 70 and r["health"] == "H1":
                values["health"] = "H2"
            ctx.conn.execute(sa.update(t.projects).where(p.id == r["id"]).values(**values))
            ctx.wrote("projects")
            old_rate = float(r["kitting_rate"] or 0)
            if abs(rate - old_rate) >= KIT_SIGNIFICANT_CHANGE:
                significant.append({"project_id": r["id"], "old": old_rate, "new": rate})
    w, k = t.work_order.c, t.mat_kit_check.c
    waiting = w.status.in_(("PENDING", "ASSIGNED"))
    ctx.name_missing(sa.select(t.mat_kit_check).join(t.work_order, w.id == k.work_order_id).where(waiting), need=[k.check_time])
    latest = sa.select(k.work_order_id, sa.func.max(k.check_time).label("at")).group_by(k.work_order_id).subquery()
    low = ctx.read(
        sa.select(w.id, w.work_order_no, w.task_name, w.project_id, w.plan_start_date, k.kit_rate)
        .join(latest, latest.c.work_order_id == w.id)
        .join(t.mat_kit_check, (k.work_order_id == w.id) & (k.check_time == latest.c.at)).where(waiting),
        need={w.plan_start_date: (w.plan_start_date >= ctx.today) & (w.plan_start_date <= ctx.today + timedelta(days=7)),
              k.kit_rate: k.kit_rate < 80})
    for r in low:
        with ctx.row("work_order", r):
            ctx.raise_alert("KIT_RATE_LOW", target_id=r["id"], level="WARNING", prefix="KC",
                            title=f"齐套率不足：{r['work_order_no']}", target_no=r["work_order_no"],
                            target_name=r["task_name"], project_id=r["project_id"],
                            content=f"工单 {r['work_order_no']} 计划 {r['plan_start_date']} 开工，齐套率 {float(r['kit_rate']):g}%",
                            trigger_value=float(r["kit_rate"]), threshold_value=80)
    return {"total_synced": len(rows), "significant_changes": significant, "significant_count": len(significant),
            "errors": [], "error_count": 0, "threshold": KIT_SIGNIFICANT_CHANGE, "low_kit_work_orders": len(low)}


@service("check_delivery_delay")
def check_delivery_delay(ctx: ServiceContext) -> dict:
    po = t.purchase_orders.c
    rows = ctx.read(sa.select(t.purchase_orders).where(po.status.in_(("CONFIRMED", "IN_PROGRESS", "PARTIAL_RECEIVED"))),
                    need={po.required_date: po.required_date < ctx.today})
    for r in rows:
        with ctx.row("purchase_orders", r):
            k = (ctx.today - as_date(r["required_date"])).days
            ctx.raise_alert("DELIVERY_DELAY", target_id=r["id"], level="CRITICAL" if k >= 7 else "WARNING", prefix="DD",
                            title=f"到货延迟：{r['order_no']}", target_no=r["order_no"], target_name=r["order_title"],
                            project_id=r["project_id"], content=f"采购订单 {r['order_no']} 要求 {r['required_date']} 到货，已延迟 {k} 天",
                            trigger_value=k, threshold_value=0)
    return {"checked": len(rows)}


def _day_bounds(day) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time())
    return start, start + timedelta(days=1)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


@service("generate_shortage_daily_report")
def generate_shortage_daily_report(ctx: ServiceContext) -> dict:
    """The shortage day report of the partition's day, replaced when it exists. Shortage
    reports, kit checks and expected arrivals without their date belong to no day: they are
    counted nowhere and named as skipped. An alert whose data says nothing of its impact is
    no stoppage."""
    day = ctx.report_day
    start, end = _day_bounds(day)
    a, r = t.alert_records.c, t.alert_rules.c
    alerts = ctx.conn.execute(sa.select(a.id, a.alert_level, a.status, a.created_at, a.handle_start_at, a.handle_end_at,
                                        a.alert_data).join(t.alert_rules, r.id == a.rule_id)
                              .where((r.rule_code == "MATERIAL_SHORTAGE") | a.target_type.in_(("SHORTAGE", "MATERIAL_SHORTAGE")))
                              ).mappings().all()
    new = [x for x in alerts if x["created_at"] and start <= x["created_at"] < end]
    levels = {lvl: sum(1 for x in new if (x["alert_level"] or "").upper() in (lvl, f"LEVEL{i}"))
              for i, lvl in enumerate(("INFO", "WARNING", "CRITICAL", "URGENT"), 1)}
    stop, stoppage_hours = 0, 0.0
    for x in new:
        data = x["alert_data"]
        if isinstance(data, dict) and data.get("impact_type") == "stop":
            with ctx.row("alert_records", x):
                stoppage_hours += float(data.get("estimated_delay_days") or 0) * 24
                stop += 1
    sr, kit, arr = t.shortage_reports.c, t.mat_kit_check.c, t.material_arrivals.c
    for table, column in ((t.shortage_reports, sr.report_time), (t.mat_kit_check, kit.check_time),
                          (t.material_arrivals, arr.expected_date)):
        ctx.name_missing(sa.select(table), need=[column])
    count = lambda where, table: ctx.conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar()  # noqa: E731
    kits = ctx.conn.execute(sa.select(kit.kit_rate, kit.kit_status).where((kit.check_time >= start) & (kit.check_time < end))).all()
    expected = count(arr.expected_date == day, t.material_arrivals)
    delayed = count((arr.expected_date == day) & arr.is_delayed.is_(True), t.material_arrivals)
    values = dict(
        report_date=day, new_alerts=len(new),
        resolved_alerts=sum(1 for x in alerts if x["handle_end_at"] and start <= x["handle_end_at"] < end),
        pending_alerts=sum(1 for x in alerts if x["status"] in OPEN_STATUSES), overdue_alerts=0,
        level1_count=levels["INFO"], level2_count=levels["WARNING"], level3_count=levels["CRITICAL"],
        level4_count=levels["URGENT"],
        new_reports=count((sr.report_time >= start) & (sr.report_time < end), t.shortage_reports),
        resolved_reports=count((sr.resolved_at >= start) & (sr.resolved_at < end), t.shortage_reports),
        total_work_orders=len(kits), kit_complete_count=sum(1 for _, s in kits if (s or "").lower() == "complete"),
        kit_rate=_mean([float(k) for k, _ in kits if k is not None]),
        expected_arrivals=expected, actual_arrivals=count(arr.actual_date == day, t.material_arrivals),
        delayed_arrivals=delayed, on_time_rate=round((expected - delayed) / expected * 100, 2) if expected else None,
        avg_response_minutes=_mean([(x["handle_start_at"] - x["created_at"]).total_seconds() / 60 for x in new
                                    if x["handle_start_at"] and x["created_at"]]),
        avg_resolve_hours=_mean([(x["handle_end_at"] - x["created_at"]).total_seconds() / 3600 for x in new
                                 if x["handle_end_at"] and x["created_at"]]),
        stoppage_count=stop, stoppage_hours=stoppage_hours,
        created_at=ctx.now, updated_at=ctx.now)
    ctx.conn.execute(sa.delete(t.mat_shortage_daily_report).where(t.mat_shortage_daily_report.c.report_date == day))
    ctx.conn.execute(sa.insert(t.mat_shortage_daily_report).values(**values))
    ctx.wrote("mat_shortage_daily_report")
    return {k: v for k, v in values.items() if k.endswith(("alerts", "reports", "arrivals"))} | {"report_date": str(day)}


def spec_score(required: dict, actual_spec: str, actual_brand: str | None) -> tuple[float, list[dict]]:
    """Weighted 0-100 score: spec text similarity 0.5, brand 0.2 and model 0.2 (when required),
    key parameters 0.1 (when required; 5 % numeric tolerance)."""
    parts: list[tuple[float, float]] = []
    diffs: list[dict] = []
    text = actual_spec or ""
    similarity = difflib.SequenceMatcher(None, (required.get("specification") or "").lower(), text.lower()).ratio()
    parts.append((0.5, similarity))
    if similarity < 0.8:
        diffs.append({"field": "specification", "required": required.get("specification"), "actual": text})
    if required.get("brand"):
        ok = (actual_brand or "").strip().lower() == required["brand"].strip().lower()
        parts.append((0.2, float(ok)))
        if not ok:
            diffs.append({"field": "brand", "required": required["brand"], "actual": actual_brand})
    if required.get("model"):
        ok = required["model"].lower() in text.lower()
        parts.append((0.2, float(ok)))
        if not ok:
            diffs.append({"field": "model", "required": required["model"], "actual": text})
    params = required.get("key_parameters") or {}
    if params:
        hits = 0
        for name, want in params.items():
            found = _param_in(text, name, want)
            hits += found
            if not found:
                diffs.append({"field": f"key_parameters.{name}", "required": want, "actual": text})
        parts.append((0.1, hits / len(params)))
    weight = sum(w for w, _ in parts)
    return round(sum(w * v for w, v in parts) / weight * 100, 2), diffs


def _param_in(text: str, name: str, want) -> bool:
    import re

    match = re.search(rf"{re.escape(str(name))}\s*[:=：]?\s*(-?\d+(?:\.\d+)?)", text, re.IGNORECASE)
    if match is None:
        return str(want).lower() in text.lower()
    try:
        want_f = float(want)
    except (TypeError, ValueError):
        return False
    return abs(float(match[1]) - want_f) <= abs(want_f) * 0.05


def match_status(score: float, diffs: list, level: str | None) -> str:
    if score >= 80:
        return "MISMATCHED" if diffs and (level or "").upper() == "STRICT" else "MATCHED"
    return "UNKNOWN" if score < 50 else "MISMATCHED"


LINE_TABLES = {"PURCHASE_ORDER": "purchase_order_items", "BOM": "bom_items"}


@service("daily_spec_match_check")
def daily_spec_match_check(ctx: ServiceContext) -> dict:
    """Match new PO and BOM lines of active projects against the projects' technical specs.
    A spec without material_code applies to any material; a line without specification text
    scores nothing on the text."""
    p, req, rec = t.projects.c, t.technical_spec_requirements.c, t.spec_match_records.c
    active = set(ctx.conn.execute(sa.select(p.id).where(p.is_active.is_(True) & sa.not_(sa.func.coalesce(p.is_archived, False)))).scalars())
    reqs: dict[int, list[dict]] = {}
    for r in ctx.conn.execute(sa.select(t.technical_spec_requirements).order_by(req.id)).mappings():
        if r["project_id"] in active:
            reqs.setdefault(r["project_id"], []).append(dict(r))
    done = {tuple(x) for x in ctx.conn.execute(sa.select(rec.project_id, rec.match_type, rec.match_target_id))}
    po, poi, h, i, m = t.purchase_orders.c, t.purchase_order_items.c, t.bom_headers.c, t.bom_items.c, t.materials.c
    brands = dict(ctx.conn.execute(sa.select(m.material_code, m.brand)).all())
    lines = [("PURCHASE_ORDER", r) for r in ctx.conn.execute(
        sa.select(poi.id, po.project_id, poi.material_code, poi.specification)
        .join(t.purchase_orders, po.id == poi.order_id)
        .where(po.status.in_(("APPROVED", "ORDERED", "PARTIAL_RECEIVED")) & po.project_id.in_(list(reqs)))).mappings()]
    lines += [("BOM", r) for r in ctx.conn.execute(
        sa.select(i.id, h.project_id, i.material_code, i.specification).join(t.bom_headers, h.id == i.bom_id)
        .where(h.status.in_(("APPROVED", "RELEASED")) & i.material_id.is_not(None) & h.project_id.in_(list(reqs)))).mappings()]
    checked = mismatched = 0
    for match_type, line in lines:
        with ctx.row(LINE_TABLES[match_type], line):
            if (line["project_id"], match_type, line["id"]) in done:
                continue
            spec = next((s for s in reqs[line["project_id"]] if s["material_code"] in (None, line["material_code"])), None)
            if spec is None:
                continue
            score, diffs = spec_score(spec, line["specification"], brands.get(line["material_code"]))
            status = match_status(score, diffs, spec["requirement_level"])
            alert_id = None
            if status == "MISMATCHED":
                mismatched += 1
                alert_id = ctx.raise_alert(
                    "SPEC_MISMATCH", target_id=line["id"], level="WARNING", prefix="AL",
                    title=f"规格不匹配：{spec['material_name'] or line['material_code']}", target_no=line["material_code"],
                    target_name=spec["material_name"], project_id=line["project_id"], dedupe="open",
                    content=f"{match_type} 行 {line['id']} 与技术规格要求不符（匹配度 {score:g}）",
                    trigger_value=score, threshold_value=80,
                    data={"spec_requirement_id": spec["id"], "material_name": spec["material_name"],
                          "required_spec": spec["specification"], "match_score": score, "differences": diffs})
            ctx.conn.execute(sa.insert(t.spec_match_records), dict(
                project_id=line["project_id"], spec_requirement_id=spec["id"], match_type=match_type,
                match_target_id=line["id"], match_status=status, match_score=score, differences=diffs, alert_id=alert_id))
            ctx.wrote("spec_match_records")
            checked += 1
    return {"checked": checked, "mismatched": mismatched}
