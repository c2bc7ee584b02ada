"""The shadow run's report: what the platform computed and would have sent, next to what
the old systems did, from their outputs.

Three kinds, each compared by what identifies a thing to the people it concerns:

- **awards** of a campaign month: the platform's (`incentives/rewards`) against the old
  system's award records (its `PerformanceData-*.csv` or the award messages of its
  `tasks.db`). A lucky-number prize is its contract and prize, a tier prize its
  housekeeper and tier (whichever contract reached it).
- **user tags**: the platform's `user_tags` against an export of the old tag system's
  `user_tags` (same schema: a CSV/TSV file with `user_id` and `tag_ids`, or its database
  URL). A user is equal when both hold the same set of tag ids.
- **PMS alerts** of a period: the `alert_records` the platform's services raised against
  the old system's `alert_records` rows of the same period (a CSV export or its database
  URL). An alert is its rule (the rule code where both sides have one, else the number's
  prefix), target type and target id; the same alert at another level differs.

"missing" is in the old output and not the platform's, "extra" the platform's only,
"different" in both but not the same. The report also counts the messages the platform
held (would have sent) per kind. Differences are information: the report never fails.
The old user tags are held in memory by user (about 150 bytes a user); the platform's are
read in batches.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from yd_platform.cutover.old_incentive_records import (
    OldAward,
    OldRecordsError,
    awards_from_performance_csv,
    awards_from_tasks,
    is_sqlite,
    read_tasks,
)
from yd_platform.incentives.computed import read_month
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.outbox.shadow import held_by_kind
from yd_platform.pms import schema as pms_tables

LUCKY, TIER = "lucky", "tier"
BATCH = 10_000


@dataclass
class Comparison:
    """One kind compared: counts, and the differences named."""

    kind: str
    equal: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"equal": self.equal, "missing": len(self.missing), "extra": len(self.extra),
                "different": len(self.different)}

    def as_json(self, limit: int | None) -> dict:
        return {"kind": self.kind, "counts": self.counts(), "notes": self.notes,
                **{k: sorted(getattr(self, k))[:limit] for k in ("missing", "extra", "different")}}

    def lines(self, limit: int | None) -> list[str]:
        c = self.counts()
        out = [f"{self.kind}: {c['equal']} equal, {c['missing']} missing (old system only), "
               f"{c['extra']} extra (platform only), {c['different']} different"]
        out += [f"  note: {n}" for n in self.notes]
        for what in ("missing", "extra", "different"):
            items = sorted(getattr(self, what))
            out += [f"  {what}: {item}" for item in items[:limit]]
            if limit is not None and len(items) > limit:
                out.append(f"  ... {len(items) - limit} more {what} (--limit, --json)")
        return out


@dataclass
class ShadowReport:
    shadow: bool
    held: dict[str, int]
    comparisons: list[Comparison]

    def as_json(self, limit: int | None = None) -> dict:
        return {"shadow_mode": self.shadow, "held": self.held,
                "kinds": {c.kind: c.as_json(limit) for c in self.comparisons}}

    def lines(self, limit: int | None = 20) -> list[str]:
        held = ", ".join(f"{k} {n}" for k, n in sorted(self.held.items())) or "none"
        out = [f"shadow mode: {'on' if self.shadow else 'off'}; messages held (what the platform would have sent): "
               f"{held}"]
        for c in self.comparisons:
            out += ["", *c.lines(limit)]
        if not self.comparisons:
            out.append("nothing compared: give --old-awards, --old-user-tags and/or --old-pms-alerts")
        return out


def compare_sets(kind: str, old: dict[tuple, str], platform: dict[tuple, str]) -> Comparison:
    """Identities present on one side or both; the values are their labels."""
    out = Comparison(kind)
    out.equal = len(old.keys() & platform.keys())
    out.missing = [old[k] for k in old.keys() - platform.keys()]
    out.extra = [platform[k] for k in platform.keys() - old.keys()]
    return out


# ---- awards ---------------------------------------------------------------------------------

def old_awards(paths: Iterable[str | Path], month: str) -> Iterator[OldAward]:
    """The prizes of the old system's records: performance CSV files (one month each) or its
    tasks.db (award messages created in `month`, sent or not: the old system computed them)."""
    for path in paths:
        if is_sqlite(path):
            yield from (a for a in awards_from_tasks(read_tasks(path)) if a.month == month)
        elif str(path).lower().endswith(".csv"):
            yield from awards_from_performance_csv(path)
        else:
            raise OldRecordsError(f"{path}: neither the old tasks.db nor a PerformanceData CSV file")


def compare_awards(cfg: IncentivesConfig, client, month: str, old_paths: list[str | Path],
                   cities: list[str] | None = None) -> Comparison:
    cities = cities or list(cfg.cities)
    platform: dict[tuple, str] = {}
    city_of: dict[str, str] = {}
    lucky_names: dict[str, set[str]] = {}
    notes = []
    for city in cities:
        computed = read_month(client, city, month)
        if computed.missing:
            notes.append(f"{city} {month}: {computed.missing} not materialized; its awards count as none")
        lucky_names[city] = computed.lucky_prizes(cfg)
        city_of.update({number: city for number in computed.contracts.values()})
        for a in computed.awards:
            platform[_award_identity(city, a["contract_no"], a["housekeeper"], a["reward_name"],
                                     a["reward_name"] in lucky_names[city])] = None
    old: dict[tuple, str] = {}
    for a in old_awards(old_paths, month):
        city = city_of.get(a.contract_no)
        if city is None:
            city = next((c for c in cities if f"-{c}-" in a.contract_no), "?")
        lucky = a.prize_type == "幸运数字" or (not a.prize_type and a.prize in lucky_names.get(city, set()))
        old.setdefault(_award_identity(city, a.contract_no, a.housekeeper, a.prize, lucky), a.source)
    labelled_platform = {k: _award_label(k) for k in platform}
    labelled_old = {k: f"{_award_label(k)} ({source})" for k, source in old.items()}
    out = compare_sets("awards", labelled_old, labelled_platform)
    out.notes = notes
    return out


def _award_identity(city: str, contract_no: str, housekeeper: str, prize: str, lucky: bool) -> tuple:
    return (city, LUCKY, contract_no, prize) if lucky else (city, TIER, housekeeper, prize)


def _award_label(identity: tuple) -> str:
    city, kind, who, prize = identity
    return f"{city} {who} {prize}" + (" (lucky number)" if kind == LUCKY else "")


# ---- user tags ------------------------------------------------------------------------------

USER_TAGS = sa.table("user_tags", sa.column("user_id"), sa.column("tag_ids"))


def tag_set(value) -> tuple[int, ...]:
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return tuple(sorted({int(v) for v in (value or [])}))


def rows_of_database(url: str, table: sa.TableClause, *columns: str) -> Iterator[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=BATCH).execute(sa.select(*(table.c[c] for c in columns)))
            yield from (tuple(r) for r in result)
    finally:
        engine.dispose()


def rows_of_file(path: str | Path, columns: list[str]) -> Iterator[dict]:
    """Rows of a CSV or TSV export (by extension; a header row names the columns)."""
    path = Path(path)
    if not path.is_file():
        raise OldRecordsError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() in (".tsv", ".txt") else ",")
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise OldRecordsError(f"{path}: columns {sorted(missing)} missing (has {reader.fieldnames})")
        for line, row in enumerate(reader, start=2):
            yield {"_where": f"{path.name} line {line}", **row}


def old_user_tags(source: str) -> dict[str, tuple[int, ...]]:
    if "://" in source:
        return {str(uid): tag_set(tags) for uid, tags in rows_of_database(source, USER_TAGS, "user_id", "tag_ids")}
    out = {}
    for row in rows_of_file(source, ["user_id", "tag_ids"]):
        try:
            out[row["user_id"]] = tag_set(row["tag_ids"])
        except (ValueError, TypeError) as exc:
            raise OldRecordsError(f"{row['_where']}: tag_ids {row['tag_ids']!r} is not a JSON array of ids "
                                  f"({exc})") from None
    return out


def compare_user_tags(app_engine: sa.Engine, old_source: str) -> Comparison:
    old = old_user_tags(old_source)
    out = Comparison("user_tags")
    if not sa.inspect(app_engine).has_table("user_tags"):
        out.notes.append("the platform has no user_tags table yet (user_tags never materialized)")
        out.missing = [f"user {uid}: old {list(tags)}, platform has no row" for uid, tags in old.items()]
        return out
    seen: set[str] = set()
    with app_engine.connect() as conn:
        result = conn.execution_options(yield_per=BATCH).execute(sa.select(USER_TAGS.c.user_id, USER_TAGS.c.tag_ids))
        for uid, raw in result:
            uid, tags = str(uid), tag_set(raw)
            seen.add(uid)
            if uid not in old:
                out.extra.append(f"user {uid}: platform {list(tags)}, old system has no row")
            elif old[uid] == tags:
                out.equal += 1
            else:
                lost, gained = sorted(set(old[uid]) - set(tags)), sorted(set(tags) - set(old[uid]))
                out.different.append(f"user {uid}: old {list(old[uid])}, platform {list(tags)} "
                                     f"(platform lacks {lost}, has more {gained})")
    out.missing = [f"user {uid}: old {list(tags)}, platform has no row" for uid, tags in old.items() if uid not in seen]
    return out


# ---- PMS alerts -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    where: str
    alert_no: str
    rule_code: str | None
    target_type: str
    target_id: str
    level: str

    @property
    def prefix(self) -> str:
        return "".join(ch for ch in self.alert_no if ch.isalpha()) or "?"


def _in_period(value, since: datetime, until: datetime) -> bool:
    if value is None or value == "":
        return False
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    return since <= when.replace(tzinfo=None) < until


def alerts_of_database(engine_or_url, since: datetime, until: datetime, label: str) -> list[Alert]:
    a, r = pms_tables.alert_records.c, pms_tables.alert_rules.c
    query = (sa.select(a.alert_no, r.rule_code, a.target_type, a.target_id, a.alert_level)
             .select_from(pms_tables.alert_records.outerjoin(pms_tables.alert_rules, r.id == a.rule_id))
             .where(a.triggered_at >= since, a.triggered_at < until))
    engine = sa.create_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.connect() as conn:
            return [Alert(f"{label} {no}", str(no), code, str(tt or ""), str(tid), str(level or ""))
                    for no, code, tt, tid, level in conn.execute(query)]
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def alerts_of_file(path: str, since: datetime, until: datetime) -> list[Alert]:
    out = []
    for row in rows_of_file(path, ["alert_no", "target_type", "target_id", "alert_level", "triggered_at"]):
        try:
            if _in_period(row["triggered_at"], since, until):
                out.append(Alert(row["_where"], row["alert_no"], row.get("rule_code") or None, row["target_type"],
                                 str(row["target_id"]).strip(), row["alert_level"]))
        except ValueError:
            raise OldRecordsError(f"{row['_where']}: triggered_at {row['triggered_at']!r} is not a date and time") \
                from None
    return out


def compare_pms_alerts(pms_engine: sa.Engine, old_source: str, since: datetime, until: datetime) -> Comparison:
    old = (alerts_of_database(old_source, since, until, "old") if "://" in old_source
           else alerts_of_file(old_source, since, until))
    platform = alerts_of_database(pms_engine, since, until, "platform")
    by_code = all(x.rule_code for x in old + platform)
    out = Comparison("pms_alerts")
    out.notes.append(f"period {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}; alerts compared by "
                     + ("rule code" if by_code else "alert number prefix") + ", target type and target id")

    def identity(x: Alert) -> tuple:
        return ((x.rule_code if by_code else x.prefix), x.target_type, x.target_id)

    def grouped(alerts: list[Alert]) -> dict[tuple, list[Alert]]:
        groups: dict[tuple, list[Alert]] = {}
        for x in alerts:
            groups.setdefault(identity(x), []).append(x)
        return groups

    old_g, plat_g = grouped(old), grouped(platform)
    for key in old_g.keys() | plat_g.keys():
        o, p = old_g.get(key, []), plat_g.get(key, [])
        label = f"{key[0]} {key[1]} {key[2]}"
        both = min(len(o), len(p))
        o_levels, p_levels = Counter(x.level for x in o), Counter(x.level for x in p)
        if both and o_levels != p_levels:
            out.different.append(f"{label}: old {sorted(o_levels.elements())} ({', '.join(x.alert_no for x in o)}), "
                                 f"platform {sorted(p_levels.elements())} ({', '.join(x.alert_no for x in p)})")
        else:
            out.equal += both
        out.missing += [f"{label} {x.level} (old {x.alert_no})" for x in o[both:]]
        out.extra += [f"{label} {x.level} (platform {x.alert_no})" for x in p[both:]]
    return out


def build_report(*, shadow: bool, app_engine: sa.Engine, comparisons: list[Comparison]) -> ShadowReport:
    return ShadowReport(shadow, dict(held_by_kind(app_engine)), comparisons)
