"""The issue's check, as a new user would make it: the demo loaded, an auditor plans the next quarter over the API,
and every proposal is checked here against the rules from the database itself, not from the planner: each tier's
interval, weekends, public holidays and the provider's anniversary day, leave, capacity, conflicts, independence,
no auditor on two audits a day, and reasons in words. Then the plan is accepted. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from partner_audit import demo
from partner_audit.audits import calendar
from partner_audit.audits.tables import Audit, AuditBooking, AuditorConflict, AuditorLeave, AuditorProfile
from partner_audit.providers.tables import Provider
from partner_audit.security.csrf import token_for_session
from partner_audit.security.middleware import SESSION_COOKIE


def _day(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _next_quarter(today: date) -> tuple[date, date]:
    q = (today.month - 1) // 3 + 1
    year, q = (today.year + 1, 1) if q == 4 else (today.year, q + 1)
    start = date(year, 3 * (q - 1) + 1, 1)
    end = (date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)) - timedelta(days=1)
    return start, end


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError(day)


def test_a_quarter_planned_for_the_demo_keeps_every_rule_and_says_why(client, run, settings):
    today = date.today()
    made = run(lambda: demo.load(settings, today))
    logins = {email: password for _, email, password in made.logins}
    email = f"auditor@{demo.DEMO_DOMAIN}"
    r = client.post("/api/v1/auth/login", json={"email": email, "password": logins[email]})
    assert r.status_code == 200, r.text
    secret = r.cookies[SESSION_COOKIE]
    client.cookies.clear()
    auditor = {"Cookie": f"{SESSION_COOKIE}={secret}", "X-CSRF-Token": token_for_session(secret)}

    start, end = _next_quarter(today)
    r = client.post("/api/v1/audit-plans", json={"starts_on": start.isoformat(), "ends_on": end.isoformat()},
                    headers=auditor)
    assert r.status_code == 201, r.text
    plan = r.json()
    proposals = plan["proposals"]
    assert proposals, plan
    for skipped in plan["skipped"]:
        assert skipped["reason"].strip(), skipped

    providers = {str(p["id"]): p for p in run(lambda: Provider.select().run())}
    audits = {str(a["id"]): a for a in run(lambda: Audit.select().run())}
    leave = run(lambda: AuditorLeave.select().run())
    conflicts = run(lambda: AuditorConflict.select().where(AuditorConflict.withdrawn_at.is_null()).run())
    capacity = {str(p["auditor"]): p["audits_per_week"] for p in run(lambda: AuditorProfile.select().run())}
    bookings = run(lambda: AuditBooking.select().run())
    assert leave and conflicts and capacity, "the demo gives the plan leave, conflicts and capacities to respect"
    intervals = {1: 12, 2: 24, 3: 36}
    planned_ids = {p["id"] for p in proposals}

    for p in proposals:
        audit, provider = audits[p["id"]], providers[p["provider_id"]]
        lead = str(audit["lead_auditor"])
        starts, ends = _day(audit["starts_on"]), _day(audit["ends_on"])
        assert start <= starts <= ends <= end
        # Why, in words.
        reasons = json.loads(audit["reasons"]) if isinstance(audit["reasons"], str) else audit["reasons"]
        assert all(reasons.get(k, "").strip() for k in ("provider", "date", "auditor")), reasons
        # The tier's interval: its last closed audit ended at least that long before the quarter's end.
        closed = [_day(a["ends_on"]) for a in audits.values()
                  if str(a["provider"]) == p["provider_id"] and a["status"] == "closed"]
        if closed:
            assert max(closed) <= _months_before(end, intervals[provider["risk_tier"]]), (provider["name"], closed)
        # Never on a day off where the provider works.
        anniversary = provider["anniversary_day"] or calendar.for_region(provider["region"])
        days = [b for b in bookings if str(b["audit"]) == p["id"]]
        assert days, "a proposal books its lead's days"
        for day in {starts, ends, *(_day(b["day"]) for b in days)}:
            assert calendar.day_off(day, anniversary) is None, (provider["name"], day)
        # Not on leave.
        for held in leave:
            if str(held["auditor"]) == lead:
                assert not any(_day(held["starts_on"]) <= _day(b["day"]) <= _day(held["ends_on"]) for b in days)
        # No declared conflict, and independence for the lead.
        for c in conflicts:
            if str(c["provider"]) != p["provider_id"] or str(c["auditor"]) != lead:
                continue
            assert c["kind"] != "interest", (provider["name"], c["reason"])
            if c["ends_on"] is not None:
                assert _day(c["ends_on"]) < _months_before(starts, 12)
        led_before = [_day(a["ends_on"]) for a in audits.values() if str(a["provider"]) == p["provider_id"]
                      and str(a["lead_auditor"]) == lead and a["status"] in ("closed", "reported")
                      and _day(a["ends_on"]) < starts]
        assert all(d < _months_before(starts, 12) for d in led_before), (provider["name"], led_before)

    # Capacity: audits a week per auditor, counting what was already booked.
    weekly = Counter()
    for a in audits.values():
        if a["status"] in ("cancelled",) or a["lead_auditor"] is None:
            continue
        starts = _day(a["starts_on"])
        if start <= starts <= end:
            weekly[(str(a["lead_auditor"]), starts.isocalendar()[:2])] += 1
    for (who, week), count in weekly.items():
        if any(str(audits[i]["lead_auditor"]) == who for i in planned_ids):
            assert count <= capacity.get(who, settings.auditor_audits_per_week), (who, week, count)
    # Nothing double-booked.
    assert len({(str(b["auditor"]), _day(b["day"])) for b in bookings}) == len(bookings)

    # Accepted whole, and accepting again changes nothing.
    r = client.post(f"/api/v1/audit-plans/{plan['id']}/accept", json={}, headers=auditor)
    assert r.status_code in (200, 201), r.text
    again = client.post(f"/api/v1/audit-plans/{plan['id']}/accept", json={}, headers=auditor)
    assert again.status_code in (200, 201), again.text
    states = {str(a["id"]): a["status"] for a in run(lambda: Audit.select(Audit.id, Audit.status).run())}
    assert {states[i] for i in planned_ids} == {"scheduled"}
