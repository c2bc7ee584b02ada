"""Award notices the old incentive system already sent, into the platform's notice ledger.

At the cutover the platform must announce nothing the old system already announced, and
everything it did not. This reads the old system's records (`old_incentive_records`: the
`tasks` table of its `tasks.db` and its `send_status_<city>_<month>.json` files), finds
the platform's awards each record is about (the months as `incentives/contracts` and
`incentives/rewards` computed them) and records those awards' notices in the outbox as
sent, origin `imported`, under the key the platform gives them
(`reward|<city>|<month>|lucky|<contract_id>|<prize>`, `reward|...|tier|<person>|<ladder>|<tier>`).
`incentives/reward_notices` then finds them taken and sends only the others.

An award counts as sent by the old system when
- a `completed` row covers it: the 签约喜报 of its contract covers every award on that
  contract (the group was told of it), an award message covers the prizes it names (a
  tier prize also when the platform awards it on another contract of the same housekeeper);
- or its contract's status file entry says `发送成功` and the tasks table has no row of
  that contract (the rows were removed; the file is then the only record).
Covered only by `pending` rows (queued, never sent or failed), it is skipped: the platform
announces it. A row or entry naming a contract or prize the platform does not compute is
reported as not matched, with the file or row and why; nothing else is held back by it.

The notices of these months that a shadow run held and the old system did not send are
queued again (unless shadow mode is still on), so the first run after the cutover
announces them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from yd_platform.cutover.old_incentive_records import (
    COMPLETED,
    PENDING,
    STATUS_SENT_WORD,
    OldMessage,
    parse_time,
    read_status_dir,
    read_tasks,
)
from yd_platform.incentives.computed import ComputedMonth, campaign_months
from yd_platform.incentives.config import IncentivesConfig
from yd_platform.incentives.notices import REWARD, notice
from yd_platform.outbox.enqueue import stored_key
from yd_platform.outbox.imported import SentElsewhere, record_sent
from yd_platform.outbox.shadow import release


@dataclass(frozen=True)
class Evidence:
    """A record of the old system about one award: where it is, whether it says sent."""

    source: str
    sent: bool
    sent_at: float | None
    body: str


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)   # key, source, outcome
    skipped: list[dict] = field(default_factory=list)    # key, source, why
    unmatched: list[dict] = field(default_factory=list)  # where, why
    ignored: list[dict] = field(default_factory=list)    # where, why
    released: int = 0
    still_held: int = 0
    shadow: bool = False
    dry_run: bool = False

    def as_json(self) -> dict:
        return {k: getattr(self, k) for k in ("imported", "skipped", "unmatched", "ignored", "released",
                                              "still_held", "shadow", "dry_run")}

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [f"{verb} {len(self.imported)} award notice(s) as sent by the old system:"]
        out += [f"  {i['key']}  <- {i['source']} ({i['outcome']})" for i in self.imported]
        out.append(f"skipped {len(self.skipped)} (the old system did not send them; the platform announces them):")
        out += [f"  {s['key']}  <- {s['source']}: {s['why']}" for s in self.skipped]
        out.append(f"not matched {len(self.unmatched)}:")
        out += [f"  {u['where']}: {u['why']}" for u in self.unmatched]
        if self.ignored:
            out.append(f"left alone {len(self.ignored)} (not about awards):")
            out += [f"  {i['where']}: {i['why']}" for i in self.ignored]
        if self.shadow:
            out.append(f"shadow mode is on: {self.still_held} held notice(s) of these months the old system did not "
                       "send stay held; run this again after switching it off")
        else:
            out.append(f"{'would queue' if self.dry_run else 'queued'} {self.released} notice(s) held by the shadow "
                       "run that the old system did not send")
        return out


def _award_key(award: dict) -> str:
    return str(award["award_id"])


@dataclass
class _Matcher:
    """The platform's computed months, looked up by contract number and contract id."""

    months: list[ComputedMonth]

    def __post_init__(self):
        self.by_no: dict[str, tuple[ComputedMonth, str]] = {}
        for m in self.months:
            for contract_id, number in m.contracts.items():
                self.by_no.setdefault(number, (m, contract_id))

    def of_contract(self, month: ComputedMonth, contract_id: str) -> list[dict]:
        return [a for a in month.awards if str(a["contract_id"]) == contract_id]

    def prizes(self, month: ComputedMonth, contract_id: str, housekeeper: str, names: tuple[str, ...]
               ) -> tuple[list[dict], list[str]]:
        """The awards named (on the contract, else a tier of the same housekeeper), and
        the names the platform does not award."""
        found, unknown = [], []
        for name in names:
            on_contract = [a for a in self.of_contract(month, contract_id) if a["reward_name"] == name]
            same_person = [a for a in month.awards
                           if a["reward_name"] == name and a["housekeeper"] == housekeeper and housekeeper]
            hit = on_contract or same_person[:1]
            found += hit
            if not hit:
                unknown.append(name)
        return found, unknown


def _months_named(cfg: IncentivesConfig, city: str, number: int, year: int | None) -> list[str]:
    return [m for m in sorted(cfg.rules.get(city, {})) if int(m[5:]) == number and (year is None or int(m[:4]) == year)]


def collect(cfg: IncentivesConfig, client, sqlite_path: str | Path | None, status_dir: str | Path | None,
            year: int | None = None) -> tuple[dict[str, dict], dict[str, list[Evidence]], ImportReport]:
    """(award by key, evidence by key, report with what did not match) from the old records."""
    report = ImportReport()
    matcher = _Matcher(campaign_months(cfg, client))
    awards: dict[str, dict] = {}
    evidence: dict[str, list[Evidence]] = {}

    def add(month: ComputedMonth, found: list[dict], item: Evidence) -> None:
        for award in found:
            key = _award_key(award)
            awards[key] = {**award, "partition": month.partition}
            evidence.setdefault(key, []).append(item)

    rows_of_contract: set[tuple[str, str]] = set()
    if sqlite_path:
        tasks = read_tasks(sqlite_path)
        for task_type, count in sorted(tasks.other_rows.items()):
            report.ignored.append({"where": f"{tasks.path.name}: {count} {task_type} row(s)",
                                   "why": "not award notices (technician status, reports, reminders)"})
        for m in tasks.messages:
            _match_row(cfg, matcher, tasks.path.name, m, report, add, rows_of_contract)
    if status_dir:
        folder = read_status_dir(status_dir, list(cfg.cities))
        report.ignored += [{"where": name, "why": why} for name, why in folder.other_files]
        report.unmatched += [{"where": name, "why": why} for name, why in folder.problems]
        for f in folder.files:
            months = _months_named(cfg, f.city, f.month_number, year)
            if len(months) != 1:
                why = (f"incentives.yaml has no campaign of {f.city} in month {f.month_number:02d}" if not months else
                       f"campaigns {', '.join(months)} of {f.city} share this month; give --year")
                report.unmatched.append({"where": f.path.name, "why": why})
                continue
            month = next(m for m in matcher.months if m.city == f.city and m.month == months[0])
            if month.missing:
                report.unmatched.append({"where": f.path.name, "why": f"{month.city} {month.month}: {month.missing} "
                                         "not materialized yet; materialize them first"})
                continue
            mtime = f.path.stat().st_mtime
            for contract_id, word in f.entries.items():
                where = f"{f.path.name} entry {contract_id!r}"
                if word != STATUS_SENT_WORD:
                    report.unmatched.append({"where": where, "why": f"status {word!r} is not {STATUS_SENT_WORD!r}"})
                elif contract_id not in month.contracts:
                    report.unmatched.append({"where": where, "why": f"no contract with this id among the platform's "
                                             f"contracts of {month.city} {month.month}"})
                elif (month.partition, contract_id) not in rows_of_contract:
                    add(month, matcher.of_contract(month, contract_id),
                        Evidence(where, True, mtime, f"{f.path.name}: {contract_id} {word}"))
                # with rows in the tasks table the rows say whether it went out
    return awards, evidence, report


def _match_row(cfg: IncentivesConfig, matcher: _Matcher, file: str, m: OldMessage, report: ImportReport,
               add, rows_of_contract: set) -> None:
    where = f"{file} row {m.row_id}"
    if m.status not in (COMPLETED, PENDING):
        report.unmatched.append({"where": where, "why": f"status {m.status!r} is neither {PENDING!r} nor {COMPLETED!r}"})
        return
    hit = matcher.by_no.get(m.contract_no)
    if hit is None:
        report.unmatched.append({"where": where, "why": f"contract {m.contract_no} is in no campaign month the "
                                 "platform computed (incentives/contracts)"})
        return
    month, contract_id = hit
    if month.missing:
        report.unmatched.append({"where": where, "why": f"{month.city} {month.month}: {month.missing} not "
                                 "materialized yet"})
        return
    rows_of_contract.add((month.partition, contract_id))
    item = Evidence(f"{where} ({m.status})", m.sent, parse_time(m.updated_at, cfg.timezone), m.body)
    if m.kind == "group":
        add(month, matcher.of_contract(month, contract_id), item)
        return
    found, unknown = matcher.prizes(month, contract_id, m.housekeeper, m.prizes)
    for name in unknown:
        report.unmatched.append({"where": where, "why": f"prize {name!r} of contract {m.contract_no} "
                                 f"({m.housekeeper}): the platform awards no such prize for it"})
    add(month, found, item)


def import_notices(cfg: IncentivesConfig, engine: sa.Engine, client, *, sqlite_path: str | Path | None = None,
                   status_dir: str | Path | None = None, year: int | None = None, shadow: bool = False,
                   dry_run: bool = False, now: float | None = None, progress=None) -> ImportReport:
    """Record the award notices the old system sent as sent (see the module's docstring).
    `progress(phase, done, total, detail)` is called as each phase starts and ends."""
    if not sqlite_path and not status_dir:
        raise ValueError("give the old tasks.db (--sqlite) and/or its state folder (--status-dir)")
    progress = progress or (lambda *args: None)
    now = time.time() if now is None else now
    progress("matching the old records with the platform's awards", 0, None)
    awards, evidence, report = collect(cfg, client, sqlite_path, status_dir, year)
    progress("matching the old records with the platform's awards", len(evidence), None, "awards matched")
    report.shadow, report.dry_run = shadow, dry_run
    sent_items: list[SentElsewhere] = []
    sources: dict[str, str] = {}
    for key in sorted(evidence):
        items = evidence[key]
        award = awards[key]
        sent = [e for e in items if e.sent]
        if sent:
            first = min(sent, key=lambda e: e.sent_at or now)
            sources[stored_key(key)] = first.source
            sent_items.append(SentElsewhere(notice(key, REWARD, award["partition"], cfg.notices.url_env,
                                                   first.body, cfg.notices.msgtype), first.sent_at or now))
        else:
            report.skipped.append({"key": key, "source": "; ".join(e.source for e in items),
                                   "why": "queued by the old system but never sent"})
    progress("recording the sent notices", 0, len(sent_items))
    outcome = record_sent(engine, sent_items, now, dry_run=dry_run)
    progress("recording the sent notices", len(sent_items), len(sent_items), "dry run" if dry_run else "")
    report.imported = [{"key": item.message.dedupe_key, "source": sources[key], "outcome": outcome[key]}
                       for key, item in zip((stored_key(i.message.dedupe_key) for i in sent_items), sent_items)]
    partitions = sorted({a["partition"] for a in awards.values()})
    keep = [stored_key(i.message.dedupe_key) for i in sent_items]
    if partitions:
        held = release(engine, [REWARD], partitions, keep=keep, dry_run=True)
        if shadow:
            report.still_held = held
        else:
            report.released = held if dry_run else release(engine, [REWARD], partitions, keep=keep, now=now)
    return report
