"""Reward rules of one city's monthly campaign, applied to its contracts in signing order.

The whole month is recomputed from all its contracts on every run, so the result does not
depend on what earlier runs saw; which awards were already announced is the outbox's
business, keyed by `Award.award_id` (`yd_platform.incentives.notices.award_notice_key`).

A contract's amount counts toward amount tiers capped twice: at most
`contract_amount_cap` per contract, and a work order's contracts together at most
`work_order_cap` (one project is often signed as several contracts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yd_platform.incentives.config import RuleSet, TierLadder

ALL_DONE = "恭喜已经达成所有奖励，祝愿再接再厉，再创佳绩 🎉🎉🎉"


@dataclass(frozen=True)
class Contract:
    contract_id: str
    contract_no: str
    housekeeper: str
    provider: str
    amount: float
    signed_at: str
    work_order: str = ""
    conversion: float | None = None

    def __post_init__(self):
        if self.amount < 0:
            raise ValueError(f"contract {self.contract_id}: amount must not be negative, got {self.amount}")
        if not self.housekeeper:
            raise ValueError(f"contract {self.contract_id}: housekeeper is empty")


@dataclass
class PersonState:
    """What one person has reached so far in the campaign."""

    count: int = 0
    amount: float = 0.0
    counted_amount: float = 0.0
    awarded: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class WorkOrderQuota:
    """How much of each work order's amount has counted so far."""

    cap: float | None
    counted: dict[str, float] = field(default_factory=dict)

    def take(self, contract: Contract, amount: float) -> float:
        if self.cap is None:
            return amount
        key = contract.work_order or contract.contract_id
        used = self.counted.get(key, 0.0)
        granted = max(0.0, min(amount, self.cap - used))
        self.counted[key] = used + granted
        return granted


@dataclass(frozen=True)
class Award:
    award_id: str
    city: str
    month: str
    person: str
    housekeeper: str
    provider: str
    contract_id: str
    contract_no: str
    reward_type: str
    reward_name: str
    reward: float
    base_reward: float
    elite: bool
    platform_seq: int
    person_count: int
    person_amount: float
    counted_amount: float
    gap_text: str
    conversion: float | None = None


@dataclass(frozen=True)
class ContractResult:
    contract_id: str
    contract_no: str
    person: str
    housekeeper: str
    provider: str
    work_order: str
    amount: float
    signed_at: str
    platform_seq: int
    person_count: int
    person_amount: float
    counted_amount: float
    reward_total: float
    reward_types: str
    reward_names: str
    gap_text: str


def format_yuan(value: float) -> str:
    """Thousands separators; whole yuan without decimals (the old notices' style)."""
    value = round(value, 2)
    return f"{int(value):,}" if value == int(value) else f"{value:,.2f}"


def person_key(contract: Contract, rules: RuleSet) -> str:
    if rules.person_key == "housekeeper_provider":
        return f"{contract.housekeeper}_{contract.provider}"
    return contract.housekeeper


def lucky_prize(platform_seq: int, amount: float, rules: RuleSet) -> tuple[str, str, float] | None:
    """(type, name, yuan) when the campaign's Nth contract ends in the lucky digit."""
    lucky = rules.lucky
    if lucky is None or str(platform_seq % 10) != lucky.number:
        return None
    if lucky.high is not None and amount >= lucky.high.threshold:
        return lucky.reward_type, lucky.high.name, lucky.high.reward
    return lucky.reward_type, lucky.base.name, lucky.base.reward


def _ladder_metric(ladder: TierLadder, state: PersonState) -> float:
    return state.counted_amount if ladder.by == "amount" else state.count


def reached_tiers(ladder: TierLadder, state: PersonState) -> list[tuple[str, str, float]]:
    """Tiers reached and not yet awarded, in the order the old system announced them: the
    highest newly reached tier first, then the skipped lower ones ascending (reaching
    tier N awards the lower ones too)."""
    if ladder.by == "amount" and state.count < ladder.min_contracts:
        return []
    metric = _ladder_metric(ladder, state)
    new = [(ladder.reward_type, t.name, t.reward) for t in ladder.sorted_tiers()
           if metric >= t.threshold and (ladder.reward_type, t.name) not in state.awarded]
    return new[-1:] + new[:-1]


def ladder_gap(ladder: TierLadder, state: PersonState) -> str:
    """How far the person is from this ladder's next tier ("" when all are reached)."""
    if ladder.by == "amount" and state.count < ladder.min_contracts:
        return f"距离达成{ladder.reward_type}奖励条件还需 {ladder.min_contracts - state.count} 单"
    metric = _ladder_metric(ladder, state)
    for tier in ladder.sorted_tiers():
        if metric < tier.threshold:
            if ladder.by == "amount":
                return f"距离 {tier.name} 还需 {format_yuan(tier.threshold - metric)} 元"
            return f"距离 {tier.name} 还需 {int(tier.threshold - metric)} 单"
    return ""


def gap_text(rules: RuleSet, state: PersonState) -> str:
    return "；".join(g for g in (ladder_gap(ladder, state) for ladder in rules.tiers) if g)


def _award_id(city: str, month: str, person: str, contract: Contract, kind: str, name: str) -> str:
    if kind == "lucky":
        return f"reward|{city}|{month}|lucky|{contract.contract_id}|{name}"
    return f"reward|{city}|{month}|tier|{person}|{kind}|{name}"


def sort_contracts(contracts: list[Contract]) -> list[Contract]:
    """Signing order, duplicates (same contract id) dropped: the old 'processed ids' rule."""
    seen: set[str] = set()
    unique = []
    for c in sorted(contracts, key=lambda c: (c.signed_at, c.contract_id)):
        if c.contract_id not in seen:
            seen.add(c.contract_id)
            unique.append(c)
    return unique


def compute_rewards(contracts: list[Contract], rules: RuleSet, city: str, month: str
                    ) -> tuple[list[ContractResult], list[Award]]:
    """Apply a month's rules to its contracts; returns one row per contract and the awards."""
    people: dict[str, PersonState] = {}
    work_orders = WorkOrderQuota(rules.work_order_cap)
    results: list[ContractResult] = []
    awards: list[Award] = []
    for seq, contract in enumerate(sort_contracts(contracts), start=1):
        person = person_key(contract, rules)
        state = people.setdefault(person, PersonState())
        state.count += 1
        state.amount += contract.amount
        cap = rules.contract_amount_cap
        state.counted_amount += work_orders.take(contract, min(contract.amount, cap) if cap else contract.amount)
        multiplier = rules.elite.multiplier_for(contract.housekeeper) if rules.elite else 1.0

        prizes: list[tuple[str, str, float, str]] = []
        lucky = lucky_prize(seq, contract.amount, rules)
        if lucky:
            prizes.append((*lucky, "lucky"))
        for ladder in rules.tiers:
            for reward_type, name, reward in reached_tiers(ladder, state):
                state.awarded.add((reward_type, name))
                prizes.append((reward_type, name, reward, reward_type))
        gap = gap_text(rules, state)
        for reward_type, name, reward, kind in prizes:
            awards.append(Award(
                award_id=_award_id(city, month, person, contract, kind, name), city=city, month=month,
                person=person, housekeeper=contract.housekeeper, provider=contract.provider,
                contract_id=contract.contract_id, contract_no=contract.contract_no,
                reward_type=reward_type, reward_name=name, reward=reward * multiplier, base_reward=reward,
                elite=multiplier != 1.0, platform_seq=seq, person_count=state.count,
                person_amount=state.amount, counted_amount=state.counted_amount, gap_text=gap,
                conversion=contract.conversion))
        results.append(ContractResult(
            contract_id=contract.contract_id, contract_no=contract.contract_no, person=person,
            housekeeper=contract.housekeeper, provider=contract.provider, work_order=contract.work_order,
            amount=contract.amount, signed_at=contract.signed_at, platform_seq=seq, person_count=state.count,
            person_amount=state.amount, counted_amount=state.counted_amount,
            reward_total=sum(p[2] for p in prizes) * multiplier,
            reward_types=", ".join(p[0] for p in prizes), reward_names=", ".join(p[1] for p in prizes),
            gap_text=gap))
    return results, awards
