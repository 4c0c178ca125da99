"""Calendars: both feeds read by the icalendar parser (a change raises SEQUENCE, a cancellation stays in the feed
as CANCELLED, the Pacific/Auckland VTIMEZONE, all-day visits and timed one-day audits), secret and revocable
addresses, who may make which feed, and the JSON calendar."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar

from partner_audit.audits.tables import CalendarFeed
from partner_audit.security.caller import Role
from partner_audit.security.tables import AccessLogEntry
from tests.support.audits import cancel, change, new_audit
from tests.support.problems import is_problem, problem

MONDAY = date.today() + timedelta(days=14 - date.today().weekday())


def make_feed(api, **body):
    r = api.post("/api/v1/calendar-feeds", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def fetch(world, feed):
    return world.client.get(urlsplit(feed["url"]).path)  # no sign-in: the address is the credential


def events(world, feed) -> dict[str, object]:
    r = fetch(world, feed)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    assert cal["METHOD"] == "PUBLISH" and cal["X-WR-CALNAME"]
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Pacific/Auckland"]
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_both_feeds_see_a_change_as_a_higher_sequence_and_a_cancellation(world):
    visit = new_audit(world, world.provider_a, kind="site_visit", starts_on=MONDAY, days=3, title="Annual visit")
    desk = new_audit(world, world.provider_a, kind="desktop_review", starts_on=MONDAY + timedelta(days=7))
    mine = make_feed(world.auditor, owner="auditor", label="Work phone")
    theirs = make_feed(world.provider_admin, owner="provider")
    for feed in (mine, theirs):
        found = events(world, feed)
        assert set(found) == {f"{visit}@partner-audit", f"{desk}@partner-audit"}
        assert found[f"{visit}@partner-audit"]["SEQUENCE"] == 0
        assert found[f"{visit}@partner-audit"]["STATUS"] == "CONFIRMED"
    change(world, visit, starts_on=MONDAY + timedelta(days=1), ends_on=MONDAY + timedelta(days=3))
    cancel(world, desk, "Provider restructure")
    for feed in (mine, theirs):
        found = events(world, feed)
        moved, cancelled = found[f"{visit}@partner-audit"], found[f"{desk}@partner-audit"]
        assert moved["SEQUENCE"] == 1 and moved.decoded("DTSTART") == MONDAY + timedelta(days=1)
        assert cancelled["SEQUENCE"] == 1 and cancelled["STATUS"] == "CANCELLED"
        assert "Provider restructure" in str(cancelled["DESCRIPTION"])


def test_a_visit_over_days_is_all_day_and_a_one_day_audit_is_timed_in_auckland(world):
    visit = new_audit(world, world.provider_a, kind="site_visit", starts_on=MONDAY, days=3)
    desk = new_audit(world, world.provider_a, kind="desktop_review", starts_on=MONDAY + timedelta(days=7))
    found = events(world, make_feed(world.auditor, owner="auditor"))
    multi, single = found[f"{visit}@partner-audit"], found[f"{desk}@partner-audit"]
    assert multi["DTSTART"].params["VALUE"] == "DATE"
    assert (multi.decoded("DTSTART"), multi.decoded("DTEND")) == (MONDAY, MONDAY + timedelta(days=3))  # exclusive
    start, end = single.decoded("DTSTART"), single.decoded("DTEND")
    assert single["DTSTART"].params["TZID"] == "Pacific/Auckland"
    assert (start.hour, end.hour, str(start.tzinfo)) == (9, 17, "Pacific/Auckland")
    assert "Desktop review: Provider A Trust" == str(single["SUMMARY"])
    assert "Auditor (lead)" in str(single["DESCRIPTION"]) and "Tier 2" in str(single["DESCRIPTION"])


def test_each_feed_holds_its_own_audits_and_a_provider_feed_no_proposals(world):
    other = world.add_person("auditor_other", Role.auditor)
    mine = new_audit(world, world.provider_a, starts_on=MONDAY)
    with_member = new_audit(world, world.provider_b, lead=other, members=[world.auditor], starts_on=MONDAY)
    not_mine = new_audit(world, world.provider_a, lead=other, starts_on=MONDAY + timedelta(days=1))
    proposed = new_audit(world, world.provider_a, lead=other, status="proposed", starts_on=MONDAY)
    assert set(events(world, make_feed(world.auditor, owner="auditor"))) == {
        f"{mine}@partner-audit", f"{with_member}@partner-audit"}
    assert set(events(world, make_feed(world.provider_admin, owner="provider"))) == {
        f"{mine}@partner-audit", f"{not_mine}@partner-audit"}
    found = events(world, make_feed(other, owner="auditor"))
    assert found[f"{proposed}@partner-audit"]["STATUS"] == "TENTATIVE"


def test_hostile_text_cannot_break_out_of_its_property(world):
    audit = new_audit(world, world.provider_a, starts_on=MONDAY,
                      title="Visit\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged@evil\r\nSUMMARY:x\x07",
                      reasons={"provider": "Line one\nDESCRIPTION:forged\x1b[31m"})
    r = fetch(world, make_feed(world.auditor, owner="auditor"))
    cal = Calendar.from_ical(r.content)
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [f"{audit}@partner-audit"]
    assert b"\x07" not in r.content and b"\x1b" not in r.content
    assert b"\r\nUID:forged" not in r.content and b"\r\nDESCRIPTION:forged" not in r.content


def test_the_address_is_shown_once_kept_as_a_keyed_hash_and_revocable(world, run):
    new_audit(world, world.provider_a, starts_on=MONDAY)
    feed = make_feed(world.auditor, owner="auditor")
    token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43
    stored = run(lambda: CalendarFeed.select().where(CalendarFeed.id == feed["id"]).first().run())
    assert token not in str(stored) and len(stored["token_hash"]) == 64
    listed = world.auditor.get("/api/v1/calendar-feeds").json()
    assert [f["id"] for f in listed["items"]] == [feed["id"]] and token not in str(listed)
    assert "url" not in listed["items"][0]
    assert fetch(world, feed).status_code == 200
    assert world.auditor.get("/api/v1/calendar-feeds").json()["items"][0]["last_used_at"]
    revoked = world.auditor.post(f"/api/v1/calendar-feeds/{feed['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    gone = fetch(world, feed)
    unknown = world.client.get("/api/v1/calendar-feeds/feed/" + "A" * 43 + ".ics")
    assert problem(gone, 404)["detail"] == problem(unknown, 404)["detail"]
    assert world.client.get(urlsplit(feed["url"]).path.removesuffix(".ics")).status_code == 404
    reads = run(lambda: AccessLogEntry.select(AccessLogEntry.outcome).where(
        AccessLogEntry.action == "calendar_feed.read").run())
    assert sorted(e["outcome"] for e in reads) == ["not_found", "not_found", "success"]


def test_who_makes_which_feed(world):
    assert make_feed(world.admin, owner="auditor", auditor_id=str(world.auditor.user["id"]))["auditor_id"] == str(
        world.auditor.user["id"])
    admins_b_feed = make_feed(world.admin, owner="provider", provider_id=str(world.provider_b["id"]))
    assert admins_b_feed["provider_name"] == "Provider B Trust"
    other = world.add_person("auditor_three", Role.auditor)
    problem(world.auditor.post("/api/v1/calendar-feeds", json={
        "owner": "auditor", "auditor_id": str(other.user["id"])}), 403)
    problem(world.auditor.post("/api/v1/calendar-feeds", json={"owner": "provider",
                                                               "provider_id": str(world.provider_a["id"])}), 403)
    problem(world.provider_admin.post("/api/v1/calendar-feeds", json={
        "owner": "provider", "provider_id": str(world.provider_b["id"])}), 404)
    problem(world.provider_admin.post("/api/v1/calendar-feeds", json={"owner": "auditor"}), 403)
    problem(world.provider_user.post("/api/v1/calendar-feeds", json={"owner": "provider"}), 403)
    problem(world.admin.post("/api/v1/calendar-feeds", json={
        "owner": "auditor", "auditor_id": str(world.provider_admin.user["id"])}), 422, "auditor_id")
    problem(world.admin.post("/api/v1/calendar-feeds", json={"owner": "provider"}), 422, "provider_id")
    problem(world.admin.post("/api/v1/calendar-feeds", json={"owner": "auditor", "label": "x\x00"}), 400, "label")
    b_feed = make_feed(world.b_admin, owner="provider")
    problem(world.provider_admin.post(f"/api/v1/calendar-feeds/{b_feed['id']}/revoke"), 404)
    problem(world.auditor.post(f"/api/v1/calendar-feeds/{b_feed['id']}/revoke"), 404)
    # A provider admin lists their provider's feeds, whoever made them, and no other's.
    assert [f["id"] for f in world.b_admin.get("/api/v1/calendar-feeds").json()["items"]] == [
        b_feed["id"], admins_b_feed["id"]]
    assert world.provider_admin.get("/api/v1/calendar-feeds").json()["items"] == []
    assert fetch(world, b_feed).status_code == 200


def test_the_json_calendar_is_bounded_and_scoped(world):
    a_audit = new_audit(world, world.provider_a, kind="site_visit", starts_on=MONDAY, days=2)
    b_audit = new_audit(world, world.provider_b, starts_on=MONDAY + timedelta(days=3))
    new_audit(world, world.provider_a, status="proposed", starts_on=MONDAY)
    later = new_audit(world, world.provider_a, starts_on=MONDAY + timedelta(days=200))

    def ids(api, **params):
        r = api.get("/api/v1/calendar", params=params)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    window = {"from": MONDAY.isoformat(), "to": (MONDAY + timedelta(days=10)).isoformat()}
    assert len(ids(world.auditor, **window)) == 3 and later not in ids(world.auditor, **window)
    assert ids(world.provider_user, **window) == [a_audit]
    assert ids(world.provider_admin, **window, provider_id=str(world.provider_b["id"])) == []
    assert ids(world.auditor, **window, provider_id=str(world.provider_b["id"])) == [b_audit]
    assert later in ids(world.auditor, **{"from": MONDAY.isoformat(), "to": (MONDAY + timedelta(days=300)).isoformat()})
    member = world.add_person("auditor_member", Role.auditor)
    with_member = new_audit(world, world.provider_b, lead=world.auditor, members=[member],
                            starts_on=MONDAY + timedelta(days=5))
    assert ids(world.admin, **window, auditor_id=str(member.user["id"])) == [with_member]
    [entry] = [e for e in world.auditor.get("/api/v1/calendar", params=window).json()["items"] if e["id"] == a_audit]
    assert entry["all_day"] is True and entry["team"][0]["role"] == "lead"
    problem(world.auditor.get("/api/v1/calendar", params={"from": "2026-01-01", "to": "2025-01-01"}), 422, "to")
    problem(world.auditor.get("/api/v1/calendar", params={"from": "2025-01-01", "to": "2026-06-01"}), 422, "to")
    problem(world.governance.get("/api/v1/calendar"), 403)
    assert is_problem(world.auditor.get("/api/v1/calendar", params={"from": "soon"}))


def test_a_feed_stops_when_its_makers_account_is_deactivated(world):
    feed = make_feed(world.provider_admin, owner="provider")
    assert fetch(world, feed).status_code == 200
    r = world.admin.patch(f"/api/v1/users/{world.provider_admin.user['id']}", json={"active": False})
    assert r.status_code == 200, r.text
    problem(fetch(world, feed), 404)
