"""The pure planner (audits.scheduler): which providers fall due, when, with whom, and why, without a database."""

from __future__ import annotations

import random
from datetime import date, timedelta

from partner_audit.audits import calendar
from partner_audit.audits.calendar import AnniversaryDay
from partner_audit.audits.scheduler import Auditor, ProviderDue, Rules, add_months, due_in, plan
from partner_audit.audits.schemas import AuditKind
from partner_audit.providers.schemas import Region

Q1 = (date(2027, 1, 1), date(2027, 3, 31))
WGN = AnniversaryDay.wellington


def provider(n: int, tier: int = 3, last: date | None = None, score: float | None = None,
             anniversary: AnniversaryDay | None = WGN, **kw) -> ProviderDue:
    return ProviderDue(id=f"p{n}", name=f"Provider {n}", tier=tier, anniversary=anniversary, last_closed=last,
                       score=score, **kw)


def auditor(name: str = "Ana", **kw) -> Auditor:
    return Auditor(id=f"a-{name.lower()}", name=name, **kw)


def due_on(day: date, tier: int = 3) -> date:
    """The last closed audit that makes a provider of ``tier`` due on ``day``."""
    return add_months(day, -Rules().interval_months[tier - 1])


def one(result):
    assert not result.skipped, result.skipped
    [only] = result.proposals
    return only


def test_each_tier_falls_due_by_its_interval_from_its_last_closed_audit():
    providers = [
        provider(1, tier=1, last=date(2026, 1, 15)),  # 12 months: due 2027-01-15
        provider(2, tier=2, last=date(2025, 3, 10)),  # 24 months: due 2027-03-10
        provider(3, tier=3, last=date(2024, 6, 1)),  # 36 months: due 2027-06-01, after the quarter
        provider(4, tier=2, last=date(2025, 6, 1)),  # due 2027-06-01: not in the quarter
        provider(5, tier=3),  # never audited: due now
        provider(6, tier=1, last=date(2025, 11, 2)),  # due 2026-11-02: overdue
    ]
    due = {p.id: d for p, d in due_in(*Q1, providers, Rules())}
    assert due == {"p1": date(2027, 1, 15), "p2": date(2027, 3, 10), "p5": Q1[0], "p6": date(2026, 11, 2)}
    result = plan(*Q1, providers, [auditor("Ana"), auditor("Ben")])
    placed = {p.provider_id: p for p in result.proposals}
    assert set(placed) == {"p1", "p2", "p5", "p6"} and not result.skipped
    assert placed["p1"].starts_on >= date(2027, 1, 15) and placed["p2"].starts_on >= date(2027, 3, 10)
    assert placed["p1"].kind == AuditKind.site_visit and len(placed["p1"].days) == 2
    assert placed["p5"].kind == AuditKind.desktop_review and len(placed["p5"].days) == 1
    assert "Never audited: due now." in placed["p5"].reasons["provider"]
    assert ("Risk tier 1: audited every 12 months. Last closed audit 2025-11-02, so due 2026-11-02: overdue by 60 "
            "days.") in placed["p6"].reasons["provider"]
    # Shorter intervals from the settings bring tier 3 into the quarter.
    shorter = Rules(interval_months=(6, 12, 24))
    assert {p.id for p, _ in due_in(*Q1, providers, shorter)} == {"p1", "p2", "p3", "p4", "p5", "p6"}


def test_an_audit_already_proposed_or_under_way_is_not_proposed_again():
    result = plan(*Q1, [provider(1, audit_open=True), provider(2)], [auditor()])
    assert [p.provider_id for p in result.proposals] == ["p2"]


def test_weekends_and_public_holidays_are_skipped_and_named():
    # Due Saturday 6 February 2027, Waitangi Day, observed on Monday the 8th.
    p = one(plan(*Q1, [provider(1, last=due_on(date(2027, 2, 6)))], [auditor()]))
    assert p.days == (date(2027, 2, 9),)
    assert "2027-02-06 to 2027-02-07 (Saturday, Sunday)" in p.reasons["date"]
    assert "2027-02-08 (Waitangi Day (observed))" in p.reasons["date"]
    # New Year: the plan's first days.
    p = one(plan(*Q1, [provider(1)], [auditor()]))
    assert p.days == (date(2027, 1, 5),)
    assert "2027-01-01 (New Year's Day)" in p.reasons["date"]
    assert "2027-01-04 (Day after New Year's Day (observed))" in p.reasons["date"]


def test_a_waikato_provider_observing_aucklands_anniversary_day_is_not_audited_on_it():
    waikato = calendar.for_region(Region.waikato)
    assert waikato == AnniversaryDay.auckland
    # Auckland Anniversary Day 2027 is Monday 1 February; Wellington's is Monday 25 January.
    p = one(plan(*Q1, [provider(1, last=due_on(date(2027, 2, 1)), anniversary=waikato)], [auditor()]))
    assert p.days == (date(2027, 2, 2),)
    assert "2027-02-01 (Auckland Anniversary Day)" in p.reasons["date"]
    p = one(plan(*Q1, [provider(1, last=due_on(date(2027, 1, 25)), anniversary=waikato)], [auditor()]))
    assert p.days == (date(2027, 1, 25),)  # Wellington's day is a working day in Waikato
    p = one(plan(*Q1, [provider(1, last=due_on(date(2027, 1, 25)), anniversary=WGN)], [auditor()]))
    assert p.days == (date(2027, 1, 26),) and "Wellington Anniversary Day" in p.reasons["date"]


def test_leave_is_worked_around():
    ana = auditor("Ana", leave=[(date(2027, 1, 11), date(2027, 1, 15))])
    p = one(plan(*Q1, [provider(1, last=due_on(date(2027, 1, 11)))], [ana]))
    assert p.days == (date(2027, 1, 18),)
    assert "2027-01-11 to 2027-01-15 (no auditor free (1 on leave))" in p.reasons["date"]
    # A two-day site visit needs both days free: leave on the Tuesday moves it past.
    ana = auditor("Ana", leave=[(date(2027, 1, 12), date(2027, 1, 12))])
    p = one(plan(*Q1, [provider(1, tier=1, last=due_on(date(2027, 1, 11), 1))], [ana]))
    assert p.days == (date(2027, 1, 13), date(2027, 1, 14))


def test_capacity_a_week_and_booked_days_hold():
    once = auditor("Ana", audits_per_week=1)
    providers = [provider(n, last=due_on(date(2027, 1, 11))) for n in range(1, 4)]
    result = plan(*Q1, providers, [once])
    assert [p.starts_on for p in result.proposals] == [date(2027, 1, 11), date(2027, 1, 18), date(2027, 1, 26)]
    assert "2027-01-11 to 2027-01-15 (all auditors at capacity)" in result.proposals[1].reasons["date"]
    # The default capacity (2 a week) from the rules, and days already booked on other audits.
    booked = auditor("Ana", booked=frozenset({date(2027, 1, 11)}), audits_by_week={date(2027, 1, 11): 1})
    result = plan(*Q1, providers, [booked])
    assert [p.starts_on for p in result.proposals] == [date(2027, 1, 12), date(2027, 1, 18), date(2027, 1, 19)]
    # Nothing double-booked across a bigger plan.
    team = [auditor(n) for n in ("Ana", "Ben", "Cy")]
    result = plan(*Q1, [provider(n, tier=1 + n % 3) for n in range(90)], team)
    days = [(p.auditor_id, d) for p in result.proposals for d in p.days]
    assert len(days) == len(set(days))
    weeks: dict = {}
    for p in result.proposals:
        key = (p.auditor_id, p.starts_on.isocalendar()[:2])
        weeks[key] = weeks.get(key, 0) + 1
    assert max(weeks.values()) == 2
    assert result.skipped and all(s.code == "capacity" and "at capacity" in s.reason for s in result.skipped)


def test_an_auditor_with_a_declared_conflict_is_never_proposed():
    ana = auditor("Ana", conflicts=frozenset({"p1", "p3"}))
    ben = auditor("Ben", conflicts=frozenset({"p2"}))
    providers = [provider(n) for n in range(1, 21)]
    result = plan(*Q1, providers, [ana, ben])
    by = {p.provider_id: p for p in result.proposals}
    assert len(by) == 20
    assert by["p1"].auditor_name == by["p3"].auditor_name == "Ben" and by["p2"].auditor_name == "Ana"
    assert "Not considered: Ana (declared a conflict of interest)." in by["p1"].reasons["auditor"]
    assert not any((p.auditor_id, p.provider_id) in {("a-ana", "p1"), ("a-ana", "p3"), ("a-ben", "p2")}
                   for p in result.proposals)
    # With every auditor conflicted, the provider is skipped and says why.
    result = plan(*Q1, [provider(1)], [ana, auditor("Ben", conflicts=frozenset({"p1"}))])
    assert not result.proposals
    [skip] = result.skipped
    assert skip.code == "independence"
    assert skip.reason == ("No auditor may lead it: Ana (declared a conflict of interest); "
                           "Ben (declared a conflict of interest).")


def test_independence_no_lead_within_the_window_of_leading_or_being_responsible():
    p1 = provider(1, last=due_on(date(2027, 1, 11)))
    led = auditor("Ana", led={"p1": date(2026, 1, 20)})  # may lead again from 2027-01-21
    free = auditor("Ben")
    p = one(plan(*Q1, [p1], [led, free]))
    assert p.auditor_name == "Ben"
    # Alone, she waits until the window has passed.
    p = one(plan(*Q1, [p1], [led]))
    assert p.days == (date(2027, 1, 21),) and p.auditor_name == "Ana"
    assert "not yet independent" in p.reasons["date"]
    # Responsible for its activity until last September: not in this quarter; still responsible: never.
    responsible = auditor("Ana", responsible={"p1": date(2026, 9, 30)})
    [skip] = plan(*Q1, [p1], [responsible]).skipped
    assert skip.code == "independence"
    assert ("Ana (responsible for it until 2026-09-30: not leading it within 12 months, so not before "
            "2027-10-01)") in skip.reason
    still = auditor("Ana", responsible={"p1": None})
    [skip] = plan(*Q1, [p1], [still]).skipped
    assert "Ana (is responsible for its activity)" in skip.reason
    # A shorter window from the settings lets her lead.
    assert one(plan(*Q1, [p1], [responsible], Rules(independence_months=3))).auditor_name == "Ana"


def test_overdue_first_then_lowest_verified_score_and_unscored_last():
    once = auditor("Ana", audits_per_week=1)
    providers = [
        provider(1, score=90.0),  # never audited: due now
        provider(2, score=40.0),
        provider(3),  # no score
        provider(4, last=date(2023, 6, 1)),  # due 2026-06-01: most overdue
        provider(5, last=date(2023, 12, 1), score=99.0),  # due 2026-12-01: overdue
        provider(6, last=due_on(date(2027, 1, 4)), score=10.0),  # due after the start
    ]
    order = [p.provider_id for p in sorted(plan(*Q1, providers, [once]).proposals, key=lambda p: p.starts_on)]
    assert order == ["p4", "p5", "p2", "p1", "p3", "p6"]


def test_load_is_spread_across_free_auditors():
    team = [auditor(n) for n in ("Ana", "Ben", "Cy")]
    result = plan(*Q1, [provider(n, last=due_on(date(2027, 1, 11))) for n in range(6)], team)
    per: dict[str, int] = {}
    for p in result.proposals:
        per[p.auditor_name] = per.get(p.auditor_name, 0) + 1
    assert per == {"Ana": 2, "Ben": 2, "Cy": 2}
    assert "the least loaded of the 3 auditors free" in result.proposals[0].reasons["auditor"]


def test_the_same_input_gives_the_same_plan_whatever_its_order():
    rng = random.Random(5)
    providers = [provider(n, tier=rng.randint(1, 3), score=rng.choice([None, 50.0, 70.0]),
                          last=date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))) for n in range(80)]
    team = [auditor(n, leave=[(date(2027, 2, 1), date(2027, 2, 12))] if n == "Ben" else ())
            for n in ("Ana", "Ben", "Cy", "Di")]
    first = plan(*Q1, providers, team)
    for _ in range(3):
        rng.shuffle(providers)
        rng.shuffle(team)
        again = plan(*Q1, providers, team)
        assert again.proposals == first.proposals and again.skipped == first.skipped


def test_every_proposal_explains_provider_date_and_auditor():
    ana = auditor("Ana", conflicts=frozenset({"p2"}))
    result = plan(*Q1, [provider(1, tier=2, last=date(2024, 12, 2), score=61.5), provider(2)], [ana, auditor("Ben")])
    p = next(p for p in result.proposals if p.provider_id == "p1")
    assert p.reasons["provider"] == (
        "Risk tier 2: audited every 24 months. Last closed audit 2024-12-02, so due 2026-12-02: overdue by 30 days. "
        "Latest verified score 61.5. Placed 1 of 2 due (overdue first, most overdue first, then the lowest "
        "verified score).")
    assert p.reasons["date"].startswith(
        "2027-01-05 to 2027-01-06: a site visit of 2 working days, on the earliest working day from 2027-01-01 "
        "(the plan's start) with an auditor free. Skipped 2027-01-01 (New Year's Day);")
    assert p.reasons["auditor"].startswith("Ana: free on those days (not on leave, not booked), 0 other audits that "
                                           "week (capacity 2 a week), 0 in the plan's range so far; the least loaded "
                                           "of the 2 auditors free.")
    assert "No declared conflict with Provider 1; independent" in p.reasons["auditor"]


def test_a_provider_due_too_late_for_a_site_visit_is_skipped_with_its_reason():
    [skip] = plan(*Q1, [provider(1, tier=1, last=due_on(date(2027, 3, 31), 1))], [auditor()]).skipped
    assert skip.code == "too_late" and "2-working-day site visit" in skip.reason
