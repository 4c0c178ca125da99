"""Control characters (a NUL, a vertical tab, an ESC, U+0085 ...) are refused in every input with a 400 naming the
field, and nothing is stored: a NUL was a 500 on PostgreSQL and stored on SQLite, a vertical tab broke every .xlsx
export of the text. Tabs and new lines still work where text runs over lines; macrons and emoji work everywhere.

``test_every_request_body_is_checked`` walks the app's route table, so a new route cannot skip the check."""

from __future__ import annotations

import tempfile
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute
from piccolo.table import Table
from tests.support.assessments import assessment_of, launched, rollout_body
from tests.support.devices import holder, new_device
from tests.support.workbooks import as_bytes, download, row_of, saved, upload

from tests.support.problems import problem
from tests.support.world import PASSWORD, World
from partner_audit.api import Input
from partner_audit.app import create_app
from partner_audit.assessments.tables import Answer, Evidence, Rollout
from partner_audit.demo import demo_nzbn
from partner_audit.devices.tables import Assignment, Device, Incident
from partner_audit.providers.tables import Provider
from partner_audit.security.tables import AccessLogEntry, AccessToken, LoginThrottle, User
from partner_audit.settings import load_settings

# These tests sign in by email or count the accounts: every person of the world exists from the start.
pytestmark = pytest.mark.usefixtures("everyone")

# NUL, vertical tab, ESC, DEL and a C1 control (NEXT LINE): none of them is text a person types.
REFUSED = ["\x00", "\x0b", "\x1b", "\x7f", "\x85"]


@dataclass
class Case:
    """One representative field of a domain: how to send ``text`` in it, the field named in the 400, and the
    tables that must not change."""

    id: str
    send: Callable[[World, str, dict[str, Any]], Any]
    field: str
    tables: tuple[type[Table], ...]


def _answer(world: World, text: str, ctx: dict[str, Any]):
    return world.provider_user.put(f"/api/v1/assessments/{ctx['assessment_id']}/answers", json={"answers": [
        {"question_id": "has-lead", "value": "yes"}, {"question_id": "device-count", "value": 3, "comment": text}]})


def _form_naming_the_file(filename: str) -> dict[str, Any]:
    """A multipart body written by hand: httpx percent-encodes control characters in a file name, a browser or a
    hostile client need not."""
    boundary = "cc-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="question_id"\r\n\r\nhas-lead\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/plain\r\n\r\nOur privacy policy\r\n--{boundary}--\r\n")
    return {"content": body.encode(), "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


CASES = [
    Case("provider name", lambda w, text, _: w.admin.post("/api/v1/providers", json={
        "name": f"Ngā Whare {text}Trust", "nzbn": demo_nzbn(950), "kind": "iwi_maori", "region": "Waikato",
        "risk_tier": 2}), "name", (Provider,)),
    Case("user full name", lambda w, text, _: w.admin.post("/api/v1/users", json={
        "email": "aroha@example.org", "full_name": f"Aroha{text} Ngata", "role": "auditor", "password": PASSWORD}),
        "full_name", (User,)),
    Case("answer comment", _answer, "answers[1].comment", (Answer,)),
    Case("device notes", lambda w, text, _: w.partnerships.post("/api/v1/devices", json={
        "asset_tag": "LT-CC-1", "kind": "laptop", "notes": f"Charger{text} in the bag"}), "notes", (Device,)),
    Case("incident description", lambda w, text, ctx: w.partnerships.post("/api/v1/incidents", json={
        "device_id": ctx["device_id"], "kind": "lost", "reported_by": "Hine Walker",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "information_at_risk": "Case notes",
        "description": f"Left on{text} the bus"}),
        "description", (Incident, Device)),
    Case("rollout name", lambda w, text, ctx: w.partnerships.post("/api/v1/rollouts", json={
        **rollout_body(ctx["template_id"]), "name": f"Mini check{text}"}), "name", (Rollout,)),
    Case("check-out system", lambda w, text, ctx: w.partnerships.post(
        f"/api/v1/devices/{ctx['device_id']}/check-out", json=holder(w.provider_a, systems=["Email", f"CMS{text}"])),
        "systems[1]", (Assignment,)),
    Case("transfer holder name", lambda w, text, ctx: w.partnerships.post(
        f"/api/v1/devices/{ctx['device_id']}/transfer", json={
            "check_in": {"returned_on": date.today().isoformat(), "condition": "Good", "data_wiped": False},
            "check_out": holder(w.provider_a, name=f"Mere{text} Tawhiri", holder_email="mere@provider.example")}),
        "check_out.holder_name", (Assignment,)),
    Case("sign-in email", lambda w, text, _: w.client.post("/api/v1/auth/login", json={
        "email": f"admin{text}@example.org", "password": PASSWORD}), "email", (AccessToken, LoginThrottle)),
    Case("query parameter", lambda w, text, _: w.partnerships.get("/api/v1/devices", params={"q": f"LT{text}"}),
         "q", (AccessLogEntry,)),
    Case("evidence question id", lambda w, text, ctx: w.provider_user.post(
        f"/api/v1/assessments/{ctx['assessment_id']}/evidence", data={"question_id": f"has-lead{text}"},
        files={"file": ("policy.txt", b"Our privacy policy", "text/plain")}), "question_id", (Evidence,)),
    Case("evidence file name", lambda w, text, ctx: w.provider_user.post(
        f"/api/v1/assessments/{ctx['assessment_id']}/evidence", **_form_naming_the_file(f"policy{text}.txt")),
        "filename", (Evidence,)),
    Case("device import file name", lambda w, text, _: w.partnerships.post(
        "/api/v1/devices/import", params={"filename": f"register{text}.csv"},
        content=b"Asset Tag,Device Type\nLT-CC-2,laptop\n", headers={"Content-Type": "text/csv"}),
        "filename", (Device,)),
]


@pytest.fixture
def ctx(world: World, template_id: str) -> dict[str, Any]:
    launched(world, template_id)
    device = new_device(world.partnerships, "LT-CC-0")
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json=holder(world.provider_a))
    assert r.status_code == 201, r.text
    return {"template_id": template_id, "device_id": device["id"],
            "assessment_id": assessment_of(world.provider_user, world.provider_a["id"])["id"]}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_control_character_is_refused_naming_the_field_and_nothing_is_stored(world, run, ctx, case: Case):
    def counts() -> list[int]:
        return [run(lambda t=table: t.count().run()) for table in case.tables]

    before = counts()
    for char in REFUSED:
        r = case.send(world, char, ctx)
        body = problem(r, 400, case.field)
        assert f"U+{ord(char):04X}" in body["detail"], body
        assert counts() == before, f"{case.id}: U+{ord(char):04X} changed a table"


def test_multi_line_text_keeps_tabs_and_new_lines_and_every_field_keeps_macrons_and_emoji(world, ctx):
    notes = "Ngā Whare o Māori 🌿\r\n\tCharger in the bag\nSticker: 🙂"
    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": "LT-Ngā-1", "kind": "laptop", "notes": notes,
                                                          "model": "Māori edition 💻"})
    assert r.status_code == 201, r.text
    device = world.partnerships.get(f"/api/v1/devices/{r.json()['id']}").json()
    assert (device["asset_tag"], device["notes"], device["model"]) == ("LT-Ngā-1", notes, "Māori edition 💻")

    r = world.admin.post("/api/v1/providers", json={"name": "Ngā Whare Trust 🌿", "nzbn": demo_nzbn(951),
                                                     "kind": "iwi_maori", "region": "Manawatū-Whanganui",
                                                     "risk_tier": 2})
    assert r.status_code == 201 and r.json()["name"] == "Ngā Whare Trust 🌿", r.text
    r = _answer(world, "Two laptops:\n\t- Māori health team\n\t- Whānau ora 💚", ctx)
    assert r.status_code == 200 and r.json()[1]["comment"].endswith("Whānau ora 💚"), r.text
    r = world.partnerships.get("/api/v1/devices", params={"q": "Ngā"})
    assert r.status_code == 200 and [d["asset_tag"] for d in r.json()["items"]] == ["LT-Ngā-1"], r.text


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_single_line_text_refuses_tabs_and_new_lines(world, char):
    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": f"LT{char}1", "kind": "laptop"})
    problem(r, 400, "asset_tag")
    r = world.partnerships.get("/api/v1/devices", params={"q": f"LT{char}1"})
    problem(r, 400, "q")


def test_a_password_may_hold_any_character(world, client):
    """Passwords are hashed, never stored or shown, and argon2 takes any character: none is refused, so a
    password set with one still signs in and a wrong one is a 401, never a 500."""
    password = "correct\x00horse\x0bbattery\x1bstaple"
    r = world.admin.post("/api/v1/users", json={"email": "tane@example.org", "full_name": "Tāne Mahuta",
                                                 "role": "auditor", "password": password})
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/auth/login", json={"email": "tane@example.org", "password": password}).status_code \
        == 200
    problem(client.post("/api/v1/auth/login", json={"email": "tane@example.org", "password": "wrong\x00" * 3}), 401)


def test_a_path_parameter_is_checked_too(client):
    problem(client.get("/attest/abc%00def"), 400, "token")


# --- every route is covered ------------------------------------------------------------------------

# Handlers that read their own body, and how its text is checked.
READ_BY_HAND = {
    ("POST", "/api/v1/assessments/{assessment_id:uuid}/evidence"): "uploads.FormUpload checks fields and file name",
    ("POST", "/api/v1/devices/import"): "uploads.FormUpload checks the file name; filename= is a query parameter",
    ("POST", "/attest/{token:str}"): "two checkboxes compared with 'yes', nothing of the form is stored",
    ("POST", "/api/v1/findings/{finding_id:uuid}/evidence"): "uploads.FormUpload checks the file name",
    ("POST", "/api/v1/corrective-actions/{action_id:uuid}/evidence"): "uploads.FormUpload checks the file name",
}
# Bodies that are a file and nothing else: what is in the file is the file parser's to check.
FILE_ONLY = {"WorkbookUpload"}


def _structs_in(hint: Any) -> list[type]:
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return [hint, *(s for t in typing.get_type_hints(hint).values() for s in _structs_in(t))]
    return [s for arg in typing.get_args(hint) for s in _structs_in(arg)]


def test_every_request_body_is_checked():
    app = create_app(load_settings({"PA_VAR_DIR": tempfile.mkdtemp(), "PA_SECRET_KEY": "route-table-" + "x" * 32}))
    unchecked, by_hand = [], set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            parameters = handler.parsed_fn_signature.parameters
            body = parameters.get("data")
            if body is None:
                if "request" in parameters and handler.http_methods & {"POST", "PUT", "PATCH"}:
                    by_hand |= {(method, route.path) for method in handler.http_methods}
                continue
            if getattr(body.type_, "__name__", "") in FILE_ONLY:
                continue
            structs = _structs_in(body.type_)
            if not structs:
                unchecked.append(f"{route.path}: {body.type_} is not a struct")
            unchecked += [f"{route.path}: {s.__qualname__} is not an api.Input" for s in structs
                          if not issubclass(s, Input)]
    assert not unchecked, "request bodies whose text is not checked: " + "; ".join(unchecked)
    assert by_hand == set(READ_BY_HAND), f"handlers reading their own body: {sorted(by_hand)}"


# --- files: a cell with a control character is named, never a 500 ---------------------------------


def test_a_workbook_cell_with_a_control_character_is_named_and_nothing_is_saved(world, ctx):
    aid = ctx["assessment_id"]
    book, _ = download(world.provider_user, aid)
    sheet = book["Questions"]
    # openpyxl writes DEL and C1 controls (it refuses C0), and so can any other program.
    sheet[f"E{row_of(sheet, 'device-notes')}"] = "Two laptops\x85on order"
    sheet[f"D{row_of(sheet, 'device-count')}"] = 3
    r = upload(world.provider_user, aid, as_bytes(book))
    body = problem(r, 422, f"Questions!E{row_of(sheet, 'device-notes')}")
    assert "U+0085" in body["errors"][0]["message"], body
    assert saved(world.provider_user, aid) == {}


def test_a_device_import_cell_with_a_control_character_is_named_and_nothing_is_stored(world, run):
    before = run(lambda: Device.count().run())
    r = world.partnerships.post("/api/v1/devices/import", params={"filename": "register.csv"},
                                content="Asset Tag,Device Type,Notes\nLT-CC-3,laptop,Charger\x0bin the bag\n".encode(),
                                headers={"Content-Type": "text/csv"})
    body = problem(r, 422)
    assert "U+000B" in r.text, body
    assert run(lambda: Device.count().run()) == before
