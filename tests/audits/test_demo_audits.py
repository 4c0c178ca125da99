"""The demo's year of audits, on SQLite and PostgreSQL: closed ones with findings and verified corrective actions,
one reported with an action still open, some scheduled in the coming weeks, a device spot-check with its sample
and a discrepancy, and the follow-ups the triggers propose; a second run leaves them as they were."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from partner_audit import demo
from partner_audit.audits.tables import Audit, CorrectiveAction, Finding, SpotCheckItem
from partner_audit.demo import audits as demo_audits


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def test_the_demo_holds_a_year_of_audits(run, settings):
    today = date.today()
    made = run(lambda: demo.load(settings, today))
    said = "\n".join(made.made)
    assert "audits by 3 auditors: 4 closed over the past year and 1 reported" in said, said

    rows = run(lambda: Audit.select().run())
    assert Counter(r["status"] for r in rows) == {"closed": 4, "reported": 1, "in_progress": 1, "scheduled": 3,
                                                  "proposed": 2}
    for audit in rows:
        starts = _as_date(audit["starts_on"])
        if audit["status"] in ("closed", "reported"):
            assert today - timedelta(days=366) <= starts < today and audit["reported_at"].date() < today
        if audit["status"] == "scheduled":
            assert today < starts <= today + timedelta(days=62)

    closed = [r["id"] for r in rows if r["status"] == "closed"]
    found = run(lambda: Finding.select().where(Finding.audit.is_in(closed)).run())
    assert len(found) == 12 and all(f["rating"] for f in found)
    fixes = run(lambda: CorrectiveAction.select().where(CorrectiveAction.audit.is_in(closed)).run())
    assert len(fixes) == 8 and {a["status"] for a in fixes} == {"verified"}
    assert all(_as_date(a["due_on"]) < today for a in fixes)
    [reported] = [r for r in rows if r["status"] == "reported"]
    still_open = run(lambda: CorrectiveAction.select().where(
        (CorrectiveAction.audit == reported["id"]) & (CorrectiveAction.status == "open")).run())
    assert len(still_open) == 1 and _as_date(still_open[0]["due_on"]) > today

    [spot] = [r for r in rows if r["kind"] == "device_spot_check"]
    assert spot["sample_seed"] == demo_audits.SPOT_CHECK_SEED and spot["population_size"] >= 1
    items = run(lambda: SpotCheckItem.select().where(SpotCheckItem.audit == spot["id"]).run())
    assert Counter(i["result"] for i in items) == {"seen": len(items) - 1, "discrepancy": 1}

    proposed = [r for r in rows if r["status"] == "proposed"]
    assert {r["origin"] for r in proposed} == {"lost_device"}
    reasons = [json.loads(r["reasons"]) if isinstance(r["reasons"], str) else r["reasons"] for r in proposed]
    assert all(" was reported " in why["provider"] for why in reasons), reasons

    again = run(lambda: demo.load(settings, today))
    assert "the audits were already there: left as they were" in again.made
    assert run(lambda: Audit.count().run()) == len(rows)
