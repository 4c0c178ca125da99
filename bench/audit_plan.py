"""A year's risk-based plan for 2,000 providers and 25 auditors, with the pure planner (audits.scheduler).

Prints the time, the due audits left unscheduled and why (counted by reason), and the spread of the auditors'
load (most and fewest audits in a week, and each auditor's year) beside the best spread the same capacity allows.
A bare baseline, the plainest greedy loop placing the same audits in the same order without explanations, is timed
in the same run so the cost of the words shows.

Synthetic input, the same every run (seeded): providers across the regions and their anniversary days, tiers 1/2/3
at 15/45/40%, last closed audits spread over the previous three years (a tenth never audited), scores for most;
auditors at 2 audits a week (a few at 1 or 3), each with a summer break and one or two other weeks of leave, and a
few declared conflicts of interest and lead audits within the independence window.

    PYTHONPATH=src python bench/audit_plan.py [--providers 2000] [--auditors 25] [--year 2027]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from partner_audit.audits import calendar, scheduler  # noqa: E402
from partner_audit.audits.calendar import AnniversaryDay  # noqa: E402
from partner_audit.providers.schemas import Region  # noqa: E402

NAMES = ["Aroha", "Ben", "Chen", "Dana", "Eru", "Fiona", "Grace", "Hemi", "Ika", "Jack", "Kiri", "Liam", "Mere",
         "Noah", "Olivia", "Pita", "Quinn", "Rangi", "Sina", "Tama", "Uma", "Vai", "Wiremu", "Xin", "Yusuf", "Zara"]


def synthetic(providers: int, auditors: int, year: int, seed: int = 11
              ) -> tuple[list[scheduler.ProviderDue], list[scheduler.Auditor]]:
    rng = random.Random(seed)
    regions = list(Region)
    start = date(year, 1, 1)
    due: list[scheduler.ProviderDue] = []
    for n in range(providers):
        region = rng.choice(regions)
        anniversary = calendar.for_region(region)
        if region in (Region.waikato, Region.bay_of_plenty, Region.manawatu_whanganui) and rng.random() < 0.2:
            other = {AnniversaryDay.auckland: AnniversaryDay.wellington}
            anniversary = other.get(anniversary, AnniversaryDay.auckland)
        tier = rng.choices([1, 2, 3], weights=[15, 45, 40])[0]
        never = rng.random() < 0.1
        last = None if never else start - timedelta(days=rng.randint(30, 365 * 3))
        score = None if rng.random() < 0.2 else round(rng.uniform(20, 95), 1)
        due.append(scheduler.ProviderDue(id=f"p{n:05d}", name=f"Provider {n:05d}", tier=tier,
                                         anniversary=anniversary, last_closed=last, score=score))
    team: list[scheduler.Auditor] = []
    for n in range(auditors):
        summer = date(year, 12, 20) - timedelta(days=rng.randint(0, 10))
        leave = [(date(year, 1, 1), date(year, 1, 8 + rng.randint(0, 7))), (summer, date(year, 12, 31))]
        for _ in range(rng.randint(1, 2)):
            first = start + timedelta(days=rng.randint(30, 330))
            leave.append((first, first + timedelta(days=rng.randint(4, 11))))
        conflicts = frozenset(rng.choice(due).id for _ in range(rng.randint(0, 4)))
        led = {rng.choice(due).id: start - timedelta(days=rng.randint(10, 300)) for _ in range(rng.randint(0, 6))}
        team.append(scheduler.Auditor(
            id=f"a{n:02d}", name=f"{NAMES[n % len(NAMES)]} Auditor {n:02d}",
            audits_per_week=rng.choices([1, 2, 3], weights=[1, 8, 1])[0], leave=tuple(leave),
            conflicts=conflicts, led=led))
    return due, team


def baseline(start: date, end: date, providers, auditors, rules: scheduler.Rules) -> list[tuple[str, str, date]]:
    """The plainest greedy loop: same order, same rules, no words."""
    order = scheduler.due_in(start, end, providers, rules)
    cal: dict = {}
    busy = {a.id: set() for a in auditors}
    weekly: dict[tuple[str, date], int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    off = {a.id: {a_first + timedelta(days=i) for a_first, a_last in a.leave
                  for i in range((a_last - a_first).days + 1)} for a in auditors}
    out = []
    for provider, due_on in order:
        if provider.anniversary not in cal:
            cal[provider.anniversary] = list(calendar.working_days(start, end, provider.anniversary))
        work = cal[provider.anniversary]
        kind, length = rules.kinds[provider.tier]
        ok = [a for a in auditors if provider.id not in a.conflicts]
        for k, day in enumerate(work):
            if day < due_on or k + length > len(work):
                continue
            run = work[k:k + length]
            monday = scheduler.monday_of(day)
            free = [a for a in ok
                    if weekly[(a.id, monday)] < (a.audits_per_week or rules.audits_per_week)
                    and not any(d in busy[a.id] or d in off[a.id] for d in run)
                    and not (provider.id in a.led and day <= scheduler.add_months(a.led[provider.id],
                                                                                  rules.independence_months))]
            if free:
                who = min(free, key=lambda a: (weekly[(a.id, monday)], total[a.id], a.name))
                weekly[(who.id, monday)] += 1
                total[who.id] += 1
                busy[who.id].update(run)
                out.append((provider.id, who.id, day))
                break
    return out


def best_spread(placed: int, auditors: list[scheduler.Auditor], start: date, end: date, rules) -> dict:
    """The evenest the same audits could be, whatever their due dates: per auditor, equal shares capped by each
    one's capacity over the weeks they are not wholly on leave (water-filling); in a week, the audits over every
    auditor-week available."""
    slots, weeks = [], 0
    for a in auditors:
        off = {a_first + timedelta(days=i) for a_first, a_last in a.leave for i in range((a_last - a_first).days + 1)}
        monday, available = scheduler.monday_of(start), 0
        while monday <= end:
            if any(monday + timedelta(days=i) not in off for i in range(5)):
                available += 1
            monday += timedelta(days=7)
        weeks += available
        slots.append(available * (a.audits_per_week or rules.audits_per_week))
    left, share = placed, {}
    for n, (who, cap) in enumerate(sorted(enumerate(slots), key=lambda s: s[1])):
        even = left / (len(slots) - n)
        share[who] = min(cap, even)
        left -= share[who]
    return {"year_low": math.floor(min(share.values())), "year_high": math.ceil(max(share.values())),
            "slots": sum(slots), "auditor_weeks": weeks,
            "week_high": math.ceil(placed / weeks), "week_low": math.floor(placed / weeks)}


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--providers", type=int, default=2000)
    args.add_argument("--auditors", type=int, default=25)
    args.add_argument("--year", type=int, default=2027)
    opts = args.parse_args()
    start, end = date(opts.year, 1, 1), date(opts.year, 12, 31)
    providers, auditors = synthetic(opts.providers, opts.auditors, opts.year)
    rules = scheduler.Rules()
    # The working-day calendars are cached per year and anniversary day: warm them so both timings are the loops.
    for day in {p.anniversary for p in providers}:
        calendar.is_working_day(start, day)

    began = time.perf_counter()
    plan = scheduler.plan(start, end, providers, auditors, rules)
    planned = time.perf_counter() - began
    again = scheduler.plan(start, end, providers, auditors, rules)
    began = time.perf_counter()
    bare = baseline(start, end, providers, auditors, rules)
    bare_time = time.perf_counter() - began

    due = len(scheduler.due_in(start, end, providers, rules))
    print(f"{opts.providers} providers, {opts.auditors} auditors, {start} to {end}: {due} due")
    print(f"planner   {planned:7.3f} s  {len(plan.proposals)} proposed, {len(plan.skipped)} left unscheduled"
          f"  (same plan on a second run: {again.proposals == plan.proposals and again.skipped == plan.skipped})")
    print(f"baseline  {bare_time:7.3f} s  {len(bare)} placed, no explanations  "
          f"(planner / baseline: {planned / bare_time:.2f}x)")
    print("\nleft unscheduled, by reason:")
    for code, count in Counter(s.code for s in plan.skipped).most_common():
        example = next(s.reason for s in plan.skipped if s.code == code)
        print(f"  {count:5d}  {code:<13} e.g. {example[:150]}")
    if not plan.skipped:
        print("      0")

    weekly: dict[tuple[str, date], int] = Counter()
    yearly: dict[str, int] = Counter({a.id: 0 for a in auditors})
    for p in plan.proposals:
        weekly[(p.auditor_id, scheduler.monday_of(p.starts_on))] += 1
        yearly[p.auditor_id] += 1
    in_weeks = list(weekly.values())
    best = best_spread(len(plan.proposals), auditors, start, end, rules)
    print("\nauditors' load (audits):")
    print(f"  in a week (an auditor's weeks with any): most {max(in_weeks)}, fewest {min(in_weeks)}, "
          f"mean {statistics.mean(in_weeks):.2f}, {len(in_weeks)} auditor-weeks used of {best['auditor_weeks']} "
          f"available; best possible for the same capacity: most {best['week_high']}, fewest {best['week_low']}")
    per = sorted(yearly.values())
    print(f"  over the year, per auditor:  most {per[-1]}, fewest {per[0]}, stdev {statistics.pstdev(per):.1f}; "
          f"best possible for the same capacity: most {best['year_high']}, fewest {best['year_low']} "
          f"({best['slots']} audit slots in all)")
    for a in sorted(auditors, key=lambda a: a.id):
        cap = a.audits_per_week or rules.audits_per_week
        print(f"    {a.name:<22} {cap}/week  {yearly[a.id]:4d}")


if __name__ == "__main__":
    main()
