"""The risk-based plan, pure: which providers fall due in a date range, in what order, on which working day and
with which auditor, and why, in words. No database: ``services.planning`` loads the inputs and stores the answer,
``bench/audit_plan.py`` times it on synthetic input.

The rules, in the order they apply:

- A provider falls due by its tier's interval (``Rules.interval_months``) counted from its last closed audit; one
  never audited is due now. One with an audit already proposed, scheduled or in progress is not due again.
- Overdue first, most overdue first; then the lowest latest verified score first (unscored after scored); then
  by name, so the same input always gives the same plan.
- Each goes on the earliest working day (no weekend, national holiday or the anniversary day the provider
  observes) on or after the later of the plan's start and its due date, with an auditor free: not on leave, not
  booked that day, under their audits a week (counted in the ISO week of the audit's first day), with no declared
  conflict of interest, and allowed to lead it (independence: not within ``independence_months`` of leading an
  audit of it, or of being responsible for it). A site visit takes two working days, both booked.
- Among the free auditors: the fewest audits that week, then the fewest in all, then by name.
"""

from __future__ import annotations

import calendar as months_calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from partner_audit.audits import calendar
from partner_audit.audits.calendar import AnniversaryDay
from partner_audit.audits.schemas import AuditKind

# How many runs of skipped days a proposal names before it only counts the rest.
_SKIPS_NAMED = 6


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter: 29 Feb + 12 months = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, months_calendar.monthrange(year, month)[1]))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _default_kinds() -> dict[int, tuple[AuditKind, int]]:
    return {1: (AuditKind.site_visit, 2), 2: (AuditKind.site_visit, 2), 3: (AuditKind.desktop_review, 1)}


@dataclass(frozen=True)
class Rules:
    interval_months: tuple[int, int, int] = (12, 24, 36)  # tier 1, 2, 3
    audits_per_week: int = 2  # an auditor's capacity when they name none
    independence_months: int = 12
    kinds: Mapping[int, tuple[AuditKind, int]] = field(default_factory=_default_kinds)  # tier -> (kind, days)

    @classmethod
    def from_settings(cls, settings: Any) -> Rules:
        return cls(interval_months=tuple(settings.audit_interval_months),
                   audits_per_week=settings.auditor_audits_per_week,
                   independence_months=settings.audit_independence_months)

    def as_dict(self) -> dict[str, Any]:
        return {"interval_months": {f"tier {t}": m for t, m in enumerate(self.interval_months, start=1)},
                "audits_per_week": self.audits_per_week, "independence_months": self.independence_months,
                "kinds": {f"tier {t}": {"kind": k.value, "days": d} for t, (k, d) in sorted(self.kinds.items())}}


@dataclass(frozen=True)
class ProviderDue:
    """A provider as the planner sees it."""

    id: str
    name: str
    tier: int
    anniversary: AnniversaryDay | None  # the day it observes, its region's default already applied
    last_closed: date | None = None  # the last day of its last closed audit
    score: float | None = None  # its latest verified score
    audit_open: bool = False  # an audit proposed, scheduled or in progress in or before the range


@dataclass(frozen=True)
class Auditor:
    id: str
    name: str
    audits_per_week: int | None = None  # None: the rules' default
    leave: Sequence[tuple[date, date]] = ()
    booked: frozenset[date] = frozenset()  # days already on an audit
    audits_by_week: Mapping[date, int] = field(default_factory=dict)  # Monday -> audits booked that week already
    conflicts: frozenset[str] = frozenset()  # providers they declared a conflict of interest with
    responsible: Mapping[str, date | None] = field(default_factory=dict)  # provider -> last day (None: still)
    led: Mapping[str, date] = field(default_factory=dict)  # provider -> last day of the latest audit of it they led


@dataclass(frozen=True)
class Proposal:
    provider_id: str
    provider_name: str
    kind: AuditKind
    days: tuple[date, ...]
    auditor_id: str
    auditor_name: str
    due_on: date
    reasons: dict[str, str]  # "provider", "date", "auditor": why, in words

    @property
    def starts_on(self) -> date:
        return self.days[0]

    @property
    def ends_on(self) -> date:
        return self.days[-1]


@dataclass(frozen=True)
class Skip:
    provider_id: str
    provider_name: str
    due_on: date
    code: str  # "independence" (no auditor may lead it), "capacity" (none free in time), "too_late"
    reason: str


@dataclass
class Plan:
    proposals: list[Proposal]
    skipped: list[Skip]


def due_date(provider: ProviderDue, rules: Rules, start: date) -> date:
    if provider.last_closed is None:
        return start
    return add_months(provider.last_closed, rules.interval_months[provider.tier - 1])


def due_in(start: date, end: date, providers: Sequence[ProviderDue], rules: Rules) -> list[tuple[ProviderDue, date]]:
    """The providers due by ``end`` and not already under audit, in the order the plan places them."""
    due = [(p, due_date(p, rules, start)) for p in providers if not p.audit_open]
    due = [(p, d) for p, d in due if d <= end]
    return sorted(due, key=lambda pd: _priority(pd[0], pd[1], start))


def _priority(provider: ProviderDue, due: date, start: date) -> tuple:
    score = (0, provider.score) if provider.score is not None else (1, 0.0)
    if due <= start:  # overdue (or due now): most overdue first
        return (0, due, score, provider.name, provider.id)
    return (1, score, due, provider.name, provider.id)


class _Days:
    """The range's calendar as one provider's anniversary day sees it, by index from the plan's start."""

    def __init__(self, start: date, end: date, anniversary: AnniversaryDay | None) -> None:
        count = (end - start).days + 1
        self.days = [start + timedelta(days=i) for i in range(count)]
        self.off = [calendar.day_off(d, anniversary) for d in self.days]
        self.working = [i for i, why in enumerate(self.off) if why is None]
        self.rank = {i: k for k, i in enumerate(self.working)}

    def run_from(self, index: int, length: int) -> list[int] | None:
        """The ``length`` working days starting at working day ``index``, or None past the range's end."""
        k = self.rank[index]
        return self.working[k:k + length] if k + length <= len(self.working) else None


class _Load:
    """What each auditor has that the plan adds to: booked days, audits a week and in all (by index)."""

    def __init__(self, auditors: Sequence[Auditor], start: date, end: date, rules: Rules) -> None:
        self.start, self.first_monday = start, monday_of(start)
        n = (end - start).days + 1
        self.capacity = [a.audits_per_week or rules.audits_per_week for a in auditors]
        self.booked = [{(d - start).days for d in a.booked if start <= d <= end} for a in auditors]
        self.leave = [{i for first, last in a.leave for i in range(max(0, (first - start).days),
                                                                    min(n, (last - start).days + 1))}
                      for a in auditors]
        self.week = [{self.week_of_date(m): c for m, c in a.audits_by_week.items()} for a in auditors]
        self.total = [sum(c for m, c in a.audits_by_week.items() if start - timedelta(days=6) <= m <= end)
                      for a in auditors]
        # Per week, the auditors out for all of it (at capacity, or on leave every working day): a week every
        # auditor is out of is skipped whole, which keeps a year's plan fast once its first months fill up.
        self.out: dict[int, set[int]] = {}
        self._week_reason: dict[int, str] = {}
        for who, weeks in enumerate(self.week):
            for w, c in weeks.items():
                if c >= self.capacity[who]:
                    self.out.setdefault(w, set()).add(who)
        for who, days in enumerate(self.leave):
            for w in {self.week_of(i) for i in days}:
                weekdays = [i for i in range(w * 7 - start.weekday(), w * 7 - start.weekday() + 5) if 0 <= i < n]
                if all(i in days for i in weekdays):
                    self.out.setdefault(w, set()).add(who)

    def week_closed(self, week: int, team: int) -> str | None:
        """Why no auditor is free on any day of ``week``, or None while one may be."""
        out = self.out.get(week)
        if out is None or len(out) < team:
            return None
        if week not in self._week_reason:  # once every auditor is out of a week, they stay out
            full = sum(1 for who in out if self.week[who].get(week, 0) >= self.capacity[who])
            self._week_reason[week] = "all auditors at capacity" if full == team else (
                f"no auditor free ({team - full} on leave" + (f", {full} at capacity)" if full else ")"))
        return self._week_reason[week]

    def week_of_date(self, day: date) -> int:
        return (day - self.first_monday).days // 7

    def week_of(self, index: int) -> int:
        return (index + self.start.weekday()) // 7

    def add(self, who: int, days: list[int]) -> None:
        w = self.week_of(days[0])
        self.week[who][w] = self.week[who].get(w, 0) + 1
        if self.week[who][w] >= self.capacity[who]:
            self.out.setdefault(w, set()).add(who)
        self.total[who] += 1
        self.booked[who].update(days)


def _may_lead(auditor: Auditor, provider_id: str, rules: Rules) -> tuple[date | None, str | None]:
    """From which day ``auditor`` may lead an audit of the provider (None: any day) and why not before; or None
    and why never, in words."""
    if provider_id in auditor.conflicts:
        return None, "declared a conflict of interest"
    if provider_id in auditor.responsible and auditor.responsible[provider_id] is None:
        return None, "is responsible for its activity"
    bound, because = None, ""
    if provider_id in auditor.responsible:
        until = auditor.responsible[provider_id]
        bound = add_months(until, rules.independence_months) + timedelta(days=1)
        because = f"responsible for it until {until.isoformat()}"
    if provider_id in auditor.led:
        led = add_months(auditor.led[provider_id], rules.independence_months) + timedelta(days=1)
        if bound is None or led > bound:
            bound, because = led, f"led its audit ending {auditor.led[provider_id].isoformat()}"
    return bound, because or None


def plan(start: date, end: date, providers: Sequence[ProviderDue], auditors: Sequence[Auditor],
         rules: Rules | None = None) -> Plan:
    """Propose an audit for every provider due between ``start`` and ``end``, or say why it could not."""
    rules = rules or Rules()
    team = sorted(auditors, key=lambda a: (a.name, a.id))
    load = _Load(team, start, end, rules)
    calendars: dict[AnniversaryDay | None, _Days] = {}
    due = due_in(start, end, providers, rules)
    proposals: list[Proposal] = []
    skipped: list[Skip] = []
    for position, (provider, due_on) in enumerate(due, start=1):
        days = calendars.get(provider.anniversary)
        if days is None:
            days = calendars[provider.anniversary] = _Days(start, end, provider.anniversary)
        kind, length = rules.kinds[provider.tier]
        why_provider = _why_provider(provider, due_on, start, rules, position, len(due))
        placed = _place(provider, due_on, kind, length, days, team, load, rules, start)
        if isinstance(placed, Skip):
            skipped.append(placed)
            continue
        who, run, why_date, why_auditor = placed
        load.add(who, run)
        proposals.append(Proposal(
            provider_id=provider.id, provider_name=provider.name, kind=kind,
            days=tuple(days.days[i] for i in run), auditor_id=team[who].id, auditor_name=team[who].name,
            due_on=due_on, reasons={"provider": why_provider, "date": why_date, "auditor": why_auditor}))
    return Plan(proposals, skipped)


def _place(provider: ProviderDue, due_on: date, kind: AuditKind, length: int, days: _Days,
           team: Sequence[Auditor], load: _Load, rules: Rules, start: date):
    """The first working day and auditor for one provider, with the words for both; or a Skip."""
    may_lead: list[tuple[int, int]] = []  # (auditor index, first day index they may lead from)
    excluded: list[str] = []
    last = len(days.days)
    for who, auditor in enumerate(team):
        bound, why = _may_lead(auditor, provider.id, rules)
        if bound is None and why:
            excluded.append(f"{auditor.name} ({why})")
            continue
        from_index = 0 if bound is None else (bound - start).days
        if from_index >= last:
            excluded.append(f"{auditor.name} ({why}: not leading it within {rules.independence_months} months, "
                            f"so not before {bound.isoformat()})")
            continue
        may_lead.append((who, max(0, from_index)))
    if not may_lead:
        return Skip(provider.id, provider.name, due_on, "independence",
                    "No auditor may lead it: " + "; ".join(excluded) + ".")
    earliest = max(start, due_on)
    skips: list[tuple[int, str]] = []
    for index in range(max(0, (earliest - start).days), last):
        off = days.off[index]
        if off is not None:
            skips.append((index, off))
            continue
        run = days.run_from(index, length)
        if run is None:
            break
        week = load.week_of(index)
        closed = load.week_closed(week, len(team))
        if closed:
            skips.append((index, closed))
            continue
        free, blocked = [], {"on leave": 0, "already booked": 0, "at capacity": 0, "not yet independent": 0}
        for who, from_index in may_lead:
            if index < from_index:
                blocked["not yet independent"] += 1
            elif load.week[who].get(week, 0) >= load.capacity[who]:
                blocked["at capacity"] += 1
            elif any(i in load.leave[who] for i in run):
                blocked["on leave"] += 1
            elif any(i in load.booked[who] for i in run):
                blocked["already booked"] += 1
            else:
                free.append(who)
        if not free:
            if blocked["at capacity"] == len(may_lead):
                skips.append((index, "all auditors at capacity"))
            else:
                skips.append((index, "no auditor free (" + ", ".join(
                    f"{n} {what}" for what, n in blocked.items() if n) + ")"))
            continue
        who = min(free, key=lambda w: (load.week[w].get(week, 0), load.total[w], team[w].name, team[w].id))
        return who, run, _why_date(days, run, earliest, due_on, start, length, kind, skips), _why_auditor(
            team[who], provider, load, who, week, len(free), excluded, rules)
    if skips and any(days.off[i] is None for i, _ in skips):
        reason = (f"No working day from {earliest.isoformat()} to the plan's end with an auditor free "
                  f"({_count_reasons(skips)}).")
        return Skip(provider.id, provider.name, due_on, "capacity", reason)
    return Skip(provider.id, provider.name, due_on, "too_late",
                f"Due {due_on.isoformat()}: too late in the plan for a {length}-working-day "
                f"{kind.value.replace('_', ' ')} before {days.days[-1].isoformat()}.")


def _count_reasons(skips: list[tuple[int, str]]) -> str:
    counts: dict[str, int] = {}
    for _, why in skips:
        counts[why] = counts.get(why, 0) + 1
    return "; ".join(f"{why}: {n} day{'s' if n != 1 else ''}" for why, n in counts.items())


def _why_provider(provider: ProviderDue, due_on: date, start: date, rules: Rules, position: int, of: int) -> str:
    months = rules.interval_months[provider.tier - 1]
    words = [f"Risk tier {provider.tier}: audited every {months} months."]
    if provider.last_closed is None:
        words.append("Never audited: due now.")
    else:
        words.append(f"Last closed audit {provider.last_closed.isoformat()}, so due {due_on.isoformat()}")
        late = (start - due_on).days
        words[-1] += f": overdue by {late} day{'s' if late != 1 else ''}." if late > 0 else (
            ": due on the plan's first day." if late == 0 else ", within the plan.")
    words.append(f"Latest verified score {provider.score:g}." if provider.score is not None
                 else "No verified score yet.")
    words.append(f"Placed {position} of {of} due (overdue first, most overdue first, then the lowest verified "
                 f"score).")
    return " ".join(words)


def _runs(days: _Days, skips: list[tuple[int, str]]) -> list[str]:
    """Skipped days as runs: "2027-02-06 to 2027-02-07: Saturday, Sunday" reads better one weekend at a time."""
    runs: list[list[Any]] = []  # [first index, last index, [reasons]]
    for index, why in skips:
        if runs and runs[-1][1] == index - 1 and (why == runs[-1][2][-1] or why in ("Saturday", "Sunday")
                                                   and runs[-1][2][-1] in ("Saturday", "Sunday")):
            runs[-1][1] = index
            if why != runs[-1][2][-1]:
                runs[-1][2].append(why)
        else:
            runs.append([index, index, [why]])
    out = []
    for first, last, whys in runs:
        span = days.days[first].isoformat() + ("" if first == last else f" to {days.days[last].isoformat()}")
        out.append(f"{span} ({', '.join(whys)})")
    return out


def _why_date(days: _Days, run: list[int], earliest: date, due_on: date, start: date, length: int,
              kind: AuditKind, skips: list[tuple[int, str]]) -> str:
    first, final = days.days[run[0]], days.days[run[-1]]
    when = first.isoformat() if length == 1 else f"{first.isoformat()} to {final.isoformat()}"
    what = kind.value.replace("_", " ")
    source = "its due date" if earliest == due_on and due_on > start else "the plan's start"
    words = [f"{when}: a {what} of {length} working day{'s' if length != 1 else ''}, on the earliest working day "
             f"from {earliest.isoformat()} ({source}) with an auditor free."]
    if skips:
        runs = _runs(days, skips)
        named = "; ".join(runs[:_SKIPS_NAMED])
        more = len(runs) - _SKIPS_NAMED
        words.append(f"Skipped {named}" + (f"; and {more} more" if more > 0 else "") + ".")
    else:
        words.append("No day was skipped.")
    return " ".join(words)


def _why_auditor(auditor: Auditor, provider: ProviderDue, load: _Load, who: int, week: int, free: int,
                 excluded: list[str], rules: Rules) -> str:
    this_week = load.week[who].get(week, 0)
    chosen = "the only auditor free" if free == 1 else f"the least loaded of the {free} auditors free"
    words = [f"{auditor.name}: free on those days (not on leave, not booked), {this_week} other audit"
             f"{'s' if this_week != 1 else ''} that week (capacity {load.capacity[who]} a week), {load.total[who]} "
             f"in the plan's range so far; {chosen}.",
             f"No declared conflict with {provider.name}; independent: has not led an audit of it or been "
             f"responsible for it in the {rules.independence_months} months before."]
    if excluded:
        words.append("Not considered: " + "; ".join(excluded) + ".")
    return " ".join(words)
