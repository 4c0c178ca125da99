"""A device holder's information: the Privacy Act request export, and the retention rule that redacts it."""

from __future__ import annotations

import asyncio
import calendar
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from openpyxl import load_workbook
from tests.support.devices import checked_out
from tests.support.processes import base_env, cli, ok, one_line_failure

from partner_audit.demo import demo_nzbn
from partner_audit.devices.schemas import CheckIn, CheckOut, DeviceCreate
from partner_audit.devices.services import assignments, privacy, register
from partner_audit.devices.tables import (
    Assignment,
    Attestation,
    BreachAssessment,
    Device,
    Incident,
)
from partner_audit.errors import Forbidden
from partner_audit.app import lifespan
from partner_audit.providers import service as providers
from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region
from partner_audit.security import access_log
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import AccessLogEntry
from partner_audit.settings import load_settings
from tests.support.problems import is_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEETS = ["README", "Assignments", "Attestations", "Attestation links", "Incidents", "Breach assessments", "Emails",
          "Access log"]
ALICE = ("Alice Kahu", "alice.kahu@provider-a.example")
BOB = ("Bob Rangi", "bob.rangi@provider-b.example")


def workbook(content: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(content))
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def column(rows: list[list[Any]], header: str) -> list[Any]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def everything_in(sheets: dict[str, list[list[Any]]]) -> str:
    return "\n".join(str(cell) for rows in sheets.values() for row in rows for cell in row if cell is not None)


def request_export(api, email: str):
    return api.post("/api/v1/privacy-requests", json={"email": email})


def person_with_history(world, prefix: str, provider: dict[str, Any], person: tuple[str, str]) -> dict[str, Any]:
    """A holder with a returned device (attested in person, sent a link, a damaged-screen incident with its breach
    assessment) and a device they lost. Returns the ids of everything held about them."""
    name, email = person
    first, kept = checked_out(world, f"{prefix}-1", provider, name, holder_email=email,
                              starts_on=(date.today() - timedelta(days=30)).isoformat())
    attested = world.partnerships.post(f"/api/v1/assignments/{kept['id']}/attestations", json={
        "holds_device": True, "authorised_use_only": True, "notes": f"{name} showed the laptop at the office"})
    assert attested.status_code == 201, attested.text
    link = world.partnerships.post(f"/api/v1/assignments/{kept['id']}/attestation-link")
    assert link.status_code == 201, link.text
    damaged = world.partnerships.post("/api/v1/incidents", json={
        "device_id": first["id"], "kind": "damaged", "occurred_at": datetime.now(UTC).isoformat(),
        "reported_by": name, "information_at_risk": "Client case notes", "description": f"{name} dropped it"})
    assert damaged.status_code == 201, damaged.text
    assert world.partnerships.patch(f"/api/v1/breach-assessments/{damaged.json()['assessment']['id']}", json={
        "notes": f"Spoke to {name}: screen only"}).status_code == 200
    assert world.partnerships.post(f"/api/v1/devices/{first['id']}/check-in", json={
        "returned_on": date.today().isoformat(), "condition": "Cracked screen", "data_wiped": True,
        "wiped_by": "IT service desk"}).status_code == 200
    second, lost = checked_out(world, f"{prefix}-2", provider, name, holder_email=email, kind="phone")
    gone = world.partnerships.post("/api/v1/incidents", json={
        "device_id": second["id"], "kind": "lost", "occurred_at": datetime.now(UTC).isoformat(),
        "reported_by": name, "information_at_risk": "Email", "location": "Bus 42"})
    assert gone.status_code == 201, gone.text
    assert world.admin.get(f"/api/v1/assignments/{lost['id']}").status_code == 200  # a read, logged
    return {
        "assignments": {kept["id"], lost["id"]}, "attestations": {attested.json()["id"]},
        "incidents": {damaged.json()["id"], gone.json()["id"]},
        "assessments": {damaged.json()["assessment"]["id"], gone.json()["assessment"]["id"]},
        "email": link.json()["outbox_message_id"], "linked": kept["id"],
    }


# --- the export -----------------------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_person_and_nothing_about_anyone_else(world):
    alice = person_with_history(world, "ALICE", world.provider_a, ALICE)
    bob = person_with_history(world, "BOB", world.provider_b, BOB)

    r = request_export(world.partnerships, "Alice.KAHU@Provider-A.example")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"].startswith('attachment; filename="privacy-request-')
    sheets = workbook(r.content)
    assert list(sheets) == SHEETS

    assignments = sheets["Assignments"]
    assert set(column(assignments, "Assignment id")) == alice["assignments"]
    assert set(column(assignments, "Name")) == {ALICE[0]} and set(column(assignments, "Email")) == {ALICE[1]}
    assert set(column(assignments, "Device asset tag")) == {"ALICE-1", "ALICE-2"}
    assert set(column(assignments, "Provider")) == {"Provider A Trust"}
    assert "Case management; Email" in column(assignments, "Systems reached with the device")
    assert set(column(sheets["Attestations"], "Attestation id")) == alice["attestations"]
    assert column(sheets["Attestations"], "Notes") == [f"{ALICE[0]} showed the laptop at the office"]
    assert column(sheets["Attestation links"], "Assignment id") == [alice["linked"]]
    assert set(column(sheets["Incidents"], "Incident id")) == alice["incidents"]
    assert set(column(sheets["Breach assessments"], "Assessment id")) == alice["assessments"]
    assert f"Spoke to {ALICE[0]}: screen only" in column(sheets["Breach assessments"], "Notes")
    assert column(sheets["Emails"], "Email id") == [alice["email"]]
    assert column(sheets["Emails"], "To") == [ALICE[1]]

    log = sheets["Access log"]
    about_alice = (alice["assignments"] | alice["attestations"] | alice["incidents"] | alice["assessments"]
                   | {alice["email"]})
    assert set(column(log, "Record id")) <= about_alice
    actions = set(column(log, "What they did"))
    assert {"assignment.check_out", "assignment.holder_read", "attestation.in_person", "attestation.link_issued",
            "incident.report", "breach_assessment.update", "assignment.check_in"} <= actions
    assert world.admin.user["email"] in column(log, "Who (account)")  # who read her details
    seqs = column(log, "Entry number")
    assert seqs == sorted(seqs)

    readme = sheets["README"]
    counts = {row[0]: row[2] for row in readme if row and row[0] in SHEETS}
    assert counts == {name: len(rows) - 1 for name, rows in sheets.items() if name != "README"}
    assert [row[1] for row in readme if row and row[0] == "Requested for"] == [ALICE[1]]

    text = everything_in(sheets)
    for marker in (*BOB, *bob["assignments"], *bob["attestations"], *bob["incidents"], *bob["assessments"],
                   bob["email"], "BOB-1", "BOB-2", "Provider B Trust"):
        assert str(marker) not in text, f"Alice's export holds {marker!r}, which is about someone else"


def test_the_export_is_logged_without_naming_the_person(world, run):
    alice = person_with_history(world, "ALICE", world.provider_a, ALICE)
    r = request_export(world.admin, ALICE[1])
    assert r.status_code == 200, r.text
    reference = next(row[1] for row in workbook(r.content)["README"] if row and row[0] == "Reference")

    entries = run(lambda: AccessLogEntry.select().where(AccessLogEntry.action.is_in(
        ["privacy_request.export", "assignment.privacy_export"])).order_by(AccessLogEntry.seq).run())
    request = [e for e in entries if e["action"] == "privacy_request.export"]
    assert [(e["record_type"], e["record_id"], e["outcome"], e["email"]) for e in request] == [
        ("privacy_request", reference, "success", world.admin.user["email"])]
    assert "2 assignments" in request[0]["detail"] and "1 emails" in request[0]["detail"]
    exported = [e for e in entries if e["action"] == "assignment.privacy_export"]
    assert {e["record_id"] for e in exported} == alice["assignments"]
    assert {e["provider_id"] for e in exported} == {str(world.provider_a["id"])}
    assert all(e["detail"] == f"request {reference}" for e in exported)

    # The log holds ids, not names: nothing in it names the holder, anywhere in the devices code's entries.
    details = run(lambda: AccessLogEntry.select(AccessLogEntry.detail).run())
    for marker in (*ALICE, "Alice", "alice"):
        assert not [d for d in details if marker in d["detail"]], f"the access log names the holder: {marker}"

    # A second request finds the first one: the export was a disclosure of her details.
    again = workbook(request_export(world.partnerships, ALICE[1]).content)
    assert "assignment.privacy_export" in column(again["Access log"], "What they did")


def test_only_partnerships_and_admin_may_export_and_a_bad_address_is_named(world, run):
    checked_out(world, "ALICE-1", world.provider_a, ALICE[0], holder_email=ALICE[1])
    for who in ("auditor", "governance", "provider_admin", "provider_user"):
        r = request_export(world.people[who], ALICE[1])
        assert r.status_code == 403, (who, r.text)
        assert is_problem(r)
        assert ALICE[0] not in r.text
    r = world.client.post("/api/v1/privacy-requests", json={"email": ALICE[1]})
    assert r.status_code == 401

    r = request_export(world.partnerships, "not an address")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "email"
    r = world.partnerships.post("/api/v1/privacy-requests", json={"email": ALICE[1], "name": ALICE[0]})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "name"

    # The service itself refuses anyone else (the command line and other callers do not pass the guard), and
    # logs the refusal.
    auditor = Caller(UUID(str(world.auditor.user["id"])), world.auditor.user["email"], Role.auditor, None)
    with pytest.raises(Forbidden):
        run(lambda: privacy.export_person(auditor, ALICE[1], 24))
    refusal = run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.action == "privacy_request.export").order_by(AccessLogEntry.seq, ascending=False).first().run())
    assert (refusal["outcome"], refusal["email"]) == ("denied", world.auditor.user["email"])
    assert ALICE[1] not in refusal["detail"]

    # Someone the register never held: a file that says so, every sheet empty.
    r = request_export(world.partnerships, "nobody@nowhere.example")
    assert r.status_code == 200
    assert all(len(rows) == 1 for name, rows in workbook(r.content).items() if name != "README")


def test_cell_text_is_neutralised_so_a_spreadsheet_never_runs_it(world):
    device, _ = checked_out(world, "ALICE-1", world.provider_a, '=HYPERLINK("http://evil.example","x")',
                            holder_email=ALICE[1], holder_phone="+64 21 555 0101", holder_role="@SUM(A1)",
                            purpose="-2+3")
    incident = world.partnerships.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": "misuse", "occurred_at": datetime.now(UTC).isoformat(),
        "reported_by": "Privacy lead", "information_at_risk": "Email", "description": "\tcmd /c calc"}).json()
    world.partnerships.patch(f"/api/v1/breach-assessments/{incident['assessment']['id']}",
                             json={"notes": "\rcalc"})
    sheets = workbook(request_export(world.partnerships, ALICE[1]).content)
    rows = sheets["Assignments"]
    assert column(rows, "Name") == ['\'=HYPERLINK("http://evil.example","x")']
    assert column(rows, "Phone") == ["'+64 21 555 0101"]
    assert column(rows, "Role") == ["'@SUM(A1)"]
    assert column(rows, "Purpose") == ["'-2+3"]
    assert column(rows, "Device asset tag") == ["ALICE-1"]
    assert column(sheets["Incidents"], "What happened") == ["'\tcmd /c calc"]
    # Neutralised on the way out; XML itself reads a carriage return back as a line feed.
    assert column(sheets["Breach assessments"], "Notes") == ["'\ncalc"]


# --- retention ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("today", "months", "cutoff"), [
    (date(2025, 3, 15), 24, date(2023, 3, 15)),
    (date(2025, 3, 1), 1, date(2025, 2, 1)),
    (date(2025, 2, 28), 1, date(2025, 1, 31)),  # back on 29, 30 or 31 January: one month ends on 28 February
    (date(2025, 2, 27), 1, date(2025, 1, 27)),
    (date(2024, 2, 29), 12, date(2023, 2, 28)),
    (date(2026, 2, 28), 24, date(2024, 2, 29)),  # back on 29 February 2024: due on 28 February 2026
    (date(2025, 3, 30), 1, date(2025, 2, 28)),
    (date(2025, 1, 10), 1, date(2024, 12, 10)),
])
def test_the_retention_period_ends_on_the_same_day_of_the_month(today, months, cutoff):
    assert privacy.retention_cutoff(today, months) == cutoff
    # Brute force: a day is due exactly when its period ended on or before today.
    for offset in range(-5, 6):
        back = cutoff + timedelta(days=offset)
        year, month = divmod(back.year * 12 + back.month - 1 + months, 12)
        ends = date(year, month + 1, min(back.day, calendar.monthrange(year, month + 1)[1]))
        assert (back <= cutoff) == (ends <= today), back


def redactions(run, assignment_id: str) -> list[dict[str, Any]]:
    return run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.action == "assignment.redact", AccessLogEntry.record_id == str(assignment_id)).run())


def assignment_row(run, assignment_id: str) -> dict[str, Any]:
    return run(lambda: Assignment.select().where(Assignment.id == assignment_id).first().run())


def test_holder_details_are_redacted_exactly_at_the_threshold_and_the_redaction_is_logged(world, run):
    name, email = ALICE
    device, returned = checked_out(world, "OLD-1", world.provider_a, name, holder_email=email,
                                   starts_on="2023-01-02", expected_return_on="2023-06-30")
    in_person = world.partnerships.post(f"/api/v1/assignments/{returned['id']}/attestations", json={
        "holds_device": True, "authorised_use_only": True, "notes": f"{name} in person"}).json()
    damaged = world.partnerships.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": "damaged", "occurred_at": "2023-02-01T10:00:00+13:00",
        "reported_by": name, "location": "12 Home Street", "information_at_risk": "Client case notes",
        "description": f"{name} dropped it"}).json()
    world.partnerships.patch(f"/api/v1/breach-assessments/{damaged['assessment']['id']}",
                             json={"notes": f"Called {name}"})
    assert world.partnerships.post(f"/api/v1/devices/{device['id']}/check-in", json={
        "returned_on": "2023-03-15", "condition": f"Fine, {name} kept the case", "data_wiped": True,
        "wiped_by": "IT service desk"}).status_code == 200
    _, still_out = checked_out(world, "OPEN-1", world.provider_a, "Hone Open", holder_email="hone@a.example",
                               starts_on="2020-01-06")
    lost_device, lost = checked_out(world, "LOST-1", world.provider_a, "Lisa Lost", holder_email="lisa@a.example")
    world.partnerships.post("/api/v1/incidents", json={
        "device_id": lost_device["id"], "kind": "stolen", "occurred_at": datetime.now(UTC).isoformat(),
        "reported_by": "Lisa Lost", "information_at_risk": "Email"})

    def retention(today: date, dry_run: bool = False) -> privacy.Retention:
        return run(lambda: privacy.apply_retention(today, 24, dry_run=dry_run))

    # The day before the period ends: nothing is due.
    result = retention(date(2025, 3, 14))
    assert (result.cutoff, result.due, result.redacted) == (date(2023, 3, 14), [], 0)
    assert assignment_row(run, returned["id"])["holder_name"] == name

    # The day it ends: a dry run lists it and changes nothing.
    result = retention(date(2025, 3, 15), dry_run=True)
    assert [str(r["id"]) for r in result.due] == [returned["id"]] and result.redacted == 0
    assert result.due[0]["asset_tag"] == "OLD-1" and privacy.came_back_on(result.due[0]) == date(2023, 3, 15)
    assert assignment_row(run, returned["id"])["redacted_at"] is None and not redactions(run, returned["id"])

    result = retention(date(2025, 3, 15))
    assert result.redacted == 1
    row = assignment_row(run, returned["id"])
    assert row["redacted_at"] is not None
    assert {k: row[k] for k in ("holder_name", "holder_email", "holder_phone", "holder_role", "purpose",
                                "return_condition", "wiped_by")} == dict.fromkeys(
        ("holder_name", "holder_email", "holder_phone", "holder_role", "purpose", "return_condition", "wiped_by"), "")
    # What reporting needs, and names no one, stays.
    assert (row["systems"], row["starts_on"], row["returned_on"], row["data_wiped"]) == (
        "Case management\nEmail", date(2023, 1, 2), date(2023, 3, 15), True)
    notes = run(lambda: Attestation.select(Attestation.notes).where(Attestation.id == in_person["id"]).first().run())
    assert notes == {"notes": ""}
    incident = run(lambda: Incident.select().where(Incident.id == damaged["id"]).first().run())
    assert (incident["reported_by"], incident["location"], incident["description"], incident["kind"],
            incident["information_at_risk"]) == ("", "", "", "damaged", "Client case notes")
    breach = run(lambda: BreachAssessment.select().where(BreachAssessment.incident == damaged["id"]).first().run())
    assert breach["notes"] == ""

    (entry,) = redactions(run, returned["id"])
    assert (entry["email"], entry["role"], entry["record_type"], entry["provider_id"], entry["outcome"]) == (
        "system:retention", "admin", "assignment", str(world.provider_a["id"]), "success")
    assert "2023-03-15" in entry["detail"] and name not in entry["detail"]
    # A request for her now finds nothing: her details are gone.
    assert len(workbook(request_export(world.partnerships, email).content)["Assignments"]) == 1

    # Idempotent: again, nothing more is redacted or logged.
    before = run(lambda: AccessLogEntry.count().run())
    assert retention(date(2025, 3, 15)).redacted == 0
    assert run(lambda: AccessLogEntry.count().run()) == before

    # A stolen device never came back: its period runs from the day its assignment was closed (UTC).
    closed_on = assignment_row(run, lost["id"])["closed_at"].astimezone(UTC).date()
    ends = date(closed_on.year + 2, closed_on.month,
                min(closed_on.day, calendar.monthrange(closed_on.year + 2, closed_on.month)[1]))
    assert retention(ends - timedelta(days=1)).redacted == 0
    assert retention(ends).redacted == 1 and assignment_row(run, lost["id"])["holder_name"] == ""
    assert len(redactions(run, lost["id"])) == 1

    # An open assignment is never redacted, however old.
    assert retention(date(2100, 1, 1)).due == []
    held = assignment_row(run, still_out["id"])
    assert (held["holder_name"], held["holder_email"], held["redacted_at"]) == ("Hone Open", "hone@a.example", None)

    # Entries were only ever added: the chain still verifies.
    assert run(access_log.verify).ok


# --- the command line, against a real SQLite file -------------------------------------------------------


async def _seed(env: dict[str, str]) -> dict[str, str]:
    """A provider, a device that came back in 2021, and one held now (through the services, as the API would),
    in the commands' own lifespan, so it is logged under their key."""
    async with lifespan(load_settings(env)):
        return await _seed_records()


async def _seed_records() -> dict[str, str]:
    system = Caller.system("test")
    provider = await providers.register(system, ProviderCreate(
        name="Provider A Trust", nzbn=demo_nzbn(901), kind=ProviderKind.ngo, region=Region.wellington, risk_tier=2))
    ids = {}
    for tag, starts, back, email in (("OLD-1", date(2020, 6, 1), date(2021, 1, 15), ALICE[1]),
                                     ("NOW-1", date.today(), None, BOB[1])):
        device = await register.create_device(system, msgspec.convert({"asset_tag": tag, "kind": "laptop"},
                                                                     DeviceCreate))
        out = await assignments.check_out(system, device["id"], msgspec.convert({
            "provider_id": str(provider["id"]), "holder_name": tag.title(), "holder_email": email,
            "purpose": "Field work", "starts_on": starts.isoformat()}, CheckOut))
        if back:
            await assignments.check_in(system, device["id"], msgspec.convert({
                "returned_on": back.isoformat(), "condition": "Good", "data_wiped": False}, CheckIn))
        ids[tag] = str(out["id"])
    return ids


def test_the_retention_and_privacy_request_commands(tmp_path: Path):
    env = {**base_env(tmp_path), "PA_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    ok(cli(env, "migrate"))
    ids = asyncio.run(_seed(env))

    def redacted_at(assignment_id: str) -> Any:
        with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
            return conn.execute("SELECT redacted_at FROM assignment WHERE id = ?",
                                (assignment_id,)).fetchone()[0]

    # A longer period: nothing is due yet.
    assert ok(cli(env, "retention", "--dry-run", PA_RETENTION_MONTHS="1200"))[-1].startswith("nothing to redact")

    lines = ok(cli(env, "retention", "--dry-run"))
    assert lines[0] == (f"would redact assignment {ids['OLD-1']}: device OLD-1 at Provider A Trust, "
                        "back on 2021-01-15")
    assert lines[-1].startswith("1 assignment(s) would be redacted (PA_RETENTION_MONTHS=24")
    assert redacted_at(ids["OLD-1"]) is None

    done = cli(env, "retention")
    assert ok(done)[-1].startswith("redacted 1 assignment(s), each logged")
    assert "redacting holder details: 1/1 done" in done.stderr
    assert redacted_at(ids["OLD-1"]) is not None and redacted_at(ids["NOW-1"]) is None
    assert ok(cli(env, "retention"))[-1].startswith("nothing to redact")
    assert ok(cli(env, "access-log", "verify"))[0].startswith("access log intact")

    out = tmp_path / "bob.xlsx"
    line = ok(cli(env, "privacy-request", BOB[1].upper(), str(out)))[-1]
    assert line.startswith(f"wrote {out}: 1 assignments, 0 attestations")
    sheets = workbook(out.read_bytes())
    assert column(sheets["Assignments"], "Assignment id") == [ids["NOW-1"]]
    assert ALICE[1] not in everything_in(sheets)
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        logged = conn.execute("SELECT email, record_id FROM access_log_entry WHERE action = "
                              "'assignment.privacy_export'").fetchall()
    assert logged == [("system:privacy-request", ids["NOW-1"])]

    failure = one_line_failure(cli(env, "privacy-request", "not-an-address", str(tmp_path / "x.xlsx")))
    assert failure == "partner-audit: email: 'not-an-address' is not an email address"
    assert not (tmp_path / "x.xlsx").exists()


def test_retention_redacts_the_mail_sent_to_a_holder_once_none_of_their_assignments_is_left(world, run):
    from partner_audit.outbox import service as outbox
    from partner_audit.outbox.tables import OutboxMessage

    name, email = ALICE
    _, first = checked_out(world, "MAIL-1", world.provider_a, name, holder_email=email,
                           starts_on="2023-01-02", expected_return_on="2023-06-30")
    device, second = checked_out(world, "MAIL-2", world.provider_a, name, holder_email=email.upper(),
                                 starts_on="2023-01-02", expected_return_on="2023-06-30")
    sent = run(lambda: outbox.enqueue(email, f"Kia ora {name}", f"Dear {name}, please confirm MAIL-1"))
    run(lambda: OutboxMessage.update({OutboxMessage.sent_at: datetime(2023, 2, 1, tzinfo=UTC)})
        .where(OutboxMessage.id == sent).run())
    unsent = run(lambda: outbox.enqueue(email.upper(), "Reminder", f"Dear {name}"))
    other = run(lambda: outbox.enqueue("someone.else@provider-a.example", "Hello", "Dear Someone"))
    for assignment_device in ("MAIL-1", "MAIL-2"):
        device_id = run(lambda: Device.select(Device.id).where(Device.asset_tag == assignment_device).first().run())
        assert world.partnerships.post(f"/api/v1/devices/{device_id['id']}/check-in", json={
            "returned_on": "2023-03-15" if assignment_device == "MAIL-1" else "2024-03-15",
            "condition": "Fine", "data_wiped": True, "wiped_by": "IT"}).status_code == 200

    def messages() -> dict[Any, dict[str, Any]]:
        return {row["id"]: row for row in run(lambda: OutboxMessage.select().run())}

    # The first assignment is due, but she held another device until later: her mail stays.
    assert run(lambda: privacy.apply_retention(date(2025, 3, 15), 24)).redacted == 1
    assert messages()[sent]["to_address"] == email and unsent in messages()
    # Her last assignment is due: her sent mail keeps no trace of her, her unsent mail is gone, others' stay.
    assert run(lambda: privacy.apply_retention(date(2026, 3, 15), 24)).redacted == 1
    after = messages()
    assert unsent not in after and after[other]["to_address"] == "someone.else@provider-a.example"
    assert (after[sent]["to_address"], after[sent]["subject"], after[sent]["body"]) == ("", "(redacted)", "")
    assert sent in after and after[sent]["sent_at"] is not None
