"""The scores and report routes attacked as a hostile or careless user would, on SQLite and PostgreSQL.

- What governance must never see: a world whose provider names, NZBNs, contract references, people's names and
  emails are distinctive strings, scanned for in every string of the governance edition's JSON, of /scores, and
  in every part of the workbook (cells, shared strings, chart titles, defined names, document properties), with
  PA_REPORT_MIN_GROUP_SIZE at 1 and at 1000, from the app's own settings.
- Small groups: a suppressed group's band counts are not shown.
- Hostile text that got into the database before today's checks (formula triggers, tab, CR, control characters,
  right-to-left marks, 200 characters): the workbook opens in openpyxl and LibreOffice and holds no formula.
- Query abuse: every bad parameter a 4xx problem+json naming it, never a 500.
- Twenty of the same report at once: all answered, the same figures.
- Another provider's scores to a provider's people: 404 without its name; a deactivated person's token: 401.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from partner_audit.audits.tables import Audit, CorrectiveAction, Finding
from partner_audit.devices.tables import Assignment, Incident
from partner_audit.providers.schemas import Region
from partner_audit.providers.tables import Provider
from partner_audit.reports.quarters import Quarter
from partner_audit.reports.services import scores as scores_service
from partner_audit.security.caller import Role
from partner_audit.security.tables import User
from tests.support import audit_records
from tests.support.assessments import accepted_assessment, load_template
from tests.support.devices import checked_out
from tests.support.paths import DATA
from tests.support.problems import is_problem, problem
from tests.support.workbooks import libreoffice_pdf

QUARTER = Quarter.of(scores_service.nz_today())
JSON = f"/api/v1/reports/quarterly/{QUARTER}"
WORKBOOK = f"{JSON}/workbook"
RTL = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: flips what follows when shown
# Each provider's name: a formula trigger first, a distinctive token, a right-to-left mark, a control character
# that a workbook cannot hold (it got in before names were checked), and a tail to 200 characters.
NAMES = {
    "a": "=HYPERLINK(\"http://evil.example\",\"Qzxalpha\")" + RTL + "\x07",
    "b": "+Qzxbravo" + RTL + "\tcmd|' /C calc'!A0\r",
    "c": "@Qzxcharlie-" + "w" * 188,  # 200 characters, the column's length
    "d": "\tQzxdelta\x1b",
    "e": "-Qzxecho",
}
TOKENS = ["Qzxalpha", "Qzxbravo", "Qzxcharlie", "Qzxdelta", "Qzxecho"]
PEOPLE = ["Vorpquill", "Snarkwidget", "Blethermoss"]  # holders, action owners, incident reporters
CONTRACTS = "CONTRACT-QZX"


def _update(world, table, values: dict, where) -> None:
    async def go() -> None:
        await table.update(values).where(where).run()
    world.run(go)


@pytest.fixture
def hostile(world) -> dict[str, Any]:
    """Five providers with hostile names (two in Wellington, one each elsewhere), each with an accepted
    self-assessment this quarter; A audited with a finding and an overdue corrective action; a device out with A
    overdue for return, one lost; people with distinctive names and emails."""
    from tests.support.world import register_provider
    from partner_audit.providers.schemas import Region

    template = load_template(world.run, DATA / "mini-template.yaml")
    providers = {"a": world.provider_a, "b": world.provider_b}
    for key, region in (("c", Region.auckland), ("d", Region.canterbury), ("e", Region.otago)):
        providers[key] = register_provider(world.run, f"Provider {key.upper()} Trust", 10 + ord(key), region=region)
    nzbns = {}
    for key, provider in providers.items():
        admin = world.add_person(f"vorpquill_{key}", Role.provider_admin, provider["id"])
        staff = world.add_person(f"snarkwidget_{key}", Role.provider_user, provider["id"])
        accepted_assessment(world, template, period=str(QUARTER), admin=admin, staff=staff, provider=provider)
        _update(world, Provider, {Provider.name: NAMES[key], Provider.contract_reference: f"{CONTRACTS}-{key}"},
                Provider.id == provider["id"])
        nzbns[key] = provider["nzbn"]

    audit = audit_records.in_progress(world, world.provider_a)
    found = audit_records.finding(world, audit["id"], rating="partly_effective",
                                  observation="=Qzxfinding observed", recommendation="+Qzxfinding fix")
    raised = audit_records.action(world, found["id"], owner_name="Blethermoss Vorpquill",
                                  owner_email="blethermoss@qzx.example", description="-Qzxaction do it")
    yesterday = scores_service.nz_today() - timedelta(days=1)
    now = datetime.now(UTC)
    _update(world, Audit, {Audit.status: "reported", Audit.reported_at: now, Audit.title: "=Qzxaudit title"},
            Audit.id == audit["id"])
    _update(world, CorrectiveAction, {CorrectiveAction.due_on: yesterday,
                                      CorrectiveAction.description: "@Qzxaction\x01 do it" + RTL},
            CorrectiveAction.id == raised["id"])
    _update(world, Finding, {Finding.observation: "\rQzxfinding\x02"}, Finding.id == found["id"])

    _, assignment = checked_out(world, "LT-QZX1", world.provider_a, "Snarkwidget Holder",
                                holder_email="snarkwidget@qzx.example")
    _update(world, Assignment, {Assignment.starts_on: QUARTER.starts_on - timedelta(days=40),
                                Assignment.expected_return_on: QUARTER.starts_on - timedelta(days=1)},
            Assignment.id == assignment["id"])
    phone, _ = checked_out(world, "PH-QZX2", world.provider_b, "Vorpquill Phoneholder", kind="phone",
                           holder_email="vorpquill@qzx.example")
    r = world.people["vorpquill_b"].post("/api/v1/incidents", json={
        "device_id": phone["id"], "kind": "lost", "occurred_at": now.isoformat(),
        "reported_by": "=Blethermoss Reporter", "information_at_risk": "+Qzxclient details"})
    assert r.status_code == 201, r.text
    _update(world, Incident, {Incident.reported_by: "=Blethermoss Reporter\x03"}, Incident.id == r.json()["id"])
    return {"providers": providers, "nzbns": nzbns}


def forbidden_strings(world, hostile) -> list[str]:
    """What governance must not see: names' tokens, ids, NZBNs, contract references, people's names and emails."""
    out = [*TOKENS, *PEOPLE, CONTRACTS, "qzx.example", "Qzxaction", "Qzxfinding", "Qzxaudit"]
    for provider in hostile["providers"].values():
        out += [str(provider["id"]), provider["nzbn"]]
    for api in world.people.values():
        out += [api.user["email"], api.user["full_name"], str(api.user["id"])]
    return [s.lower() for s in out]


def strings_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_of(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_of(v)]
    return [str(value)] if value is not None else []


def leaks(texts: list[str], forbidden: list[str]) -> list[tuple[str, str]]:
    return [(f, t[:120]) for t in texts for f in forbidden if f in t.lower()]


def workbook_texts(content: bytes) -> list[str]:
    """Every part of the .xlsx as text (sheets, shared strings, charts, defined names, properties), and every cell
    value and sheet title read back with openpyxl."""
    texts = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            texts.append(archive.read(name).decode("utf-8", errors="replace"))
    book = load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        texts.append(sheet.title)
        texts += [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    texts += [str(d) for d in book.defined_names]
    return texts


@pytest.fixture(params=[1, 1000], ids=["min-group-1", "min-group-1000"])
def group_size(request, settings, monkeypatch):
    # The app's own settings (an app of this test's own) decide: not whatever the process's environment says.
    monkeypatch.setenv("PA_REPORT_MIN_GROUP_SIZE", "7")
    return request.param


@pytest.fixture
def settings(request, settings):
    """The app's settings, with the minimum group size of the test's ``group_size`` when it has one (an app of
    the test's own is then made)."""
    callspec = getattr(request.node, "callspec", None)
    size = callspec.params.get("group_size") if callspec else None
    return dataclasses.replace(settings, report_min_group_size=size) if size else settings


def test_governance_sees_no_name_id_nzbn_contract_or_person_anywhere(world, hostile, group_size):
    forbidden = forbidden_strings(world, hostile)
    full = world.partnerships.get(JSON)
    assert full.status_code == 200, full.text
    # The world is what it claims: the full edition names them (so the scan below can find a leak).
    assert leaks(strings_of(full.json()), [t.lower() for t in TOKENS[:3]])

    r = world.governance.get(JSON)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["audience"] == "governance" and report["min_group_size"] == group_size
    assert leaks(strings_of(report), forbidden) == []
    every = next(d for d in report["distributions"] if d["dimension"] == "all")
    assert every["providers"] == 5 and every["suppressed"] is (group_size > 5)

    r = world.governance.get(WORKBOOK)
    assert r.status_code == 200, r.text
    assert leaks(workbook_texts(r.content), forbidden) == []

    for dimension in ("all", "region", "tier", "kind"):
        r = world.governance.get("/api/v1/scores", params={"quarter": str(QUARTER), "dimension": dimension})
        assert r.status_code == 200, r.text
        assert leaks(strings_of(r.json()), forbidden) == []
        assert all(d["suppressed"] is (d["providers"] < group_size) for d in r.json()), r.json()


@pytest.mark.parametrize("group_size", [2], indirect=True)
def test_a_suppressed_groups_band_counts_and_figures_are_not_shown(world, hostile, group_size):
    # Minimum 2: Wellington (A and B) is shown, Auckland, Canterbury and Otago (one each) are not.
    r = world.governance.get(JSON)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["min_group_size"] == 2
    regions = {d["group"]: d for d in report["distributions"] if d["dimension"] == "region"}
    for region in ("Auckland", "Canterbury", "Otago"):
        group = regions[region]
        assert group["suppressed"] and group["providers"] == 1, group
        assert not any(group["bands"].values()), group
        assert all(group[k] is None for k in ("median_self_assessed", "median_verified", "q1_verified",
                                               "q3_verified", "change")), group
    for cell in report["heatmap"]:
        if cell["region"] != "Wellington":
            assert cell["suppressed"] and cell["median_verified"] is None and cell["band"] is None, cell
    scores = world.governance.get("/api/v1/scores", params={"quarter": str(QUARTER), "dimension": "region"}).json()
    for group in scores:
        if group["suppressed"]:
            assert not any(group["bands"].values()) and group["median_verified"] is None, group


@pytest.mark.parametrize("group_size", [2], indirect=True)
def test_a_lone_suppressed_groups_bands_do_not_follow_by_difference(world, hostile, group_size):
    # Everyone but Auckland's one provider moved to Wellington: Auckland alone is under the minimum, and "All
    # providers" minus Wellington would be its provider's band, unless Wellington is hidden too.
    providers = hostile["providers"]
    for key in ("d", "e"):
        _update(world, Provider, {Provider.region: Region.wellington.value}, Provider.id == providers[key]["id"])
    report = world.governance.get(JSON).json()
    shown = {d["group"]: d for d in report["distributions"] if d["dimension"] in ("all", "region")}
    assert shown["Auckland"]["suppressed"] and shown["Auckland"]["providers"] == 1
    every, wellington = shown["All providers"], shown["Wellington"]
    assert not every["suppressed"] and sum(every["bands"].values()) == 5, every
    assert wellington["suppressed"] and wellington["bands"] == {} and wellington["median_verified"] is None


def test_hostile_text_makes_a_workbook_with_no_formula_that_libreoffice_opens(world, hostile, tmp_path):
    r = world.partnerships.get(WORKBOOK)
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = [c.value for c in cells if isinstance(c.value, str)]
    # The hostile names are there, neutralised (a leading quote), cleaned of what a cell cannot hold.
    shown = [t for t in texts if "Qzxalpha" in t]
    assert shown and all(t.startswith("'=") for t in shown), shown
    assert any(t.startswith("'\tQzxdelta") for t in texts), [t for t in texts if "Qzxdelta" in t]
    assert any("Qzxaction" in t and t.startswith("'@") for t in texts)
    assert not any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", t) for t in texts)
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(r.content)
    libreoffice_pdf(path, tmp_path)


BAD_QUERIES = [
    # (path, params, the parameter the problem names)
    ("/api/v1/reports/quarterly/9999-Q1", {}, "quarter"),
    ("/api/v1/reports/quarterly/1999-Q4", {}, "quarter"),
    ("/api/v1/reports/quarterly/2025-Q3%00", {}, "quarter"),
    ("/api/v1/reports/quarterly/" + "2" * 5000, {}, "quarter"),
    (f"/api/v1/reports/quarterly/{QUARTER.next()}", {}, "quarter"),
    (JSON, {"audience": "bogus"}, "audience"),
    (JSON, {"audience": "governance\x00"}, "audience"),
    (JSON, {"audience": "x" * 5000}, "audience"),
    (WORKBOOK, {"audience": "bogus"}, "audience"),
    ("/api/v1/reports/quarterly/\uff12\uff10\uff12\uff15-Q3", {}, "quarter"),  # full-width digits
    ("/api/v1/reports/quarterly/\u0662\u0660\u0662\u0665-Q3", {}, "quarter"),  # Arabic-Indic digits
    ("/api/v1/scores", {"quarter": "\uff12\uff10\uff12\uff15-Q3"}, "quarter"),
    ("/api/v1/scores", {"quarter": "9999-Q1"}, "quarter"),
    ("/api/v1/scores", {"quarter": str(QUARTER.next())}, "quarter"),  # not begun: today's figures mislabelled
    ("/api/v1/scores", {"quarter": "1999-Q4"}, "quarter"),
    ("/api/v1/scores", {"quarter": "2025-Q3\x00"}, "quarter"),
    ("/api/v1/scores", {"quarter": "2" * 5000}, "quarter"),
    ("/api/v1/scores", {"dimension": "bogus"}, "dimension"),
    ("/api/v1/scores", {"dimension": "region\x00"}, "dimension"),
    ("/api/v1/scores", {"dimension": "y" * 5000}, "dimension"),
    ("/api/v1/scores", {"quarter": ["2025-Q2", "2025-Q3"]}, "quarter"),
    ("/api/v1/scores", {"dimension": ["region", "tier"]}, "dimension"),
    (JSON, {"audience": ["full", "governance"]}, "audience"),
]
SCORES_QUERIES = [
    ({"from": "2025-Q3", "to": "2025-Q1"}, "from"),
    ({"from": "2020-Q1", "to": "2025-Q4"}, "from"),
    ({"from": "9999-Q1"}, "from"),
    ({"to": str(QUARTER.shifted(2))}, "to"),
    ({"from": str(QUARTER.next()), "to": str(QUARTER.shifted(3))}, "from"),
    ({"to": "1999-Q4"}, "to"),
    ({"to": "2025-Q3\x00"}, "to"),
    ({"from": "z" * 5000}, "from"),
    ({"from": ["2025-Q1", "2025-Q2"]}, "from"),
    ({"to": ["2025-Q1", "2025-Q2"]}, "to"),
]


@pytest.mark.parametrize("path, params, field", BAD_QUERIES)
def test_a_bad_query_is_a_4xx_naming_the_parameter(world, path, params, field):
    r = world.partnerships.get(path, params=params)
    assert 400 <= r.status_code < 500 and is_problem(r), (r.status_code, r.text[:500])
    body = r.json()
    named = [e.get("field") or e.get("key") for e in body.get("errors", [])]
    assert field in named or field in body["detail"], body


@pytest.mark.parametrize("params, field", SCORES_QUERIES)
def test_a_bad_range_of_a_providers_scores_is_a_400_naming_it(world, params, field):
    r = world.provider_admin.get(f"/api/v1/providers/{world.provider_a['id']}/scores", params=params)
    body = problem(r, 400)
    named = [e.get("field") or e.get("key") for e in body.get("errors", [])]
    assert field in named or field in body["detail"], body


@pytest.mark.parametrize("path", [JSON, WORKBOOK, "/api/v1/scores"])
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_method_the_routes_do_not_take_is_a_405_problem(world, path, method):
    r = getattr(world.partnerships, method)(path)
    problem(r, 405)


def test_governance_asking_for_the_full_edition_is_a_403_on_both_routes(world):
    for path in (JSON, WORKBOOK):
        problem(world.governance.get(path, params={"audience": "full"}), 403)


def test_twenty_of_the_same_report_at_once_are_all_answered_alike(world, hostile, client):
    headers = {"Authorization": f"Bearer {world.partnerships.token}"}

    async def twenty() -> list[tuple[int, str]]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answers = await asyncio.gather(*(http.get(JSON, headers=headers) for _ in range(20)),
                                           *(http.get(WORKBOOK, headers=headers) for _ in range(4)))
        return [(a.status_code, a.text if a.status_code != 200 or "json" in a.headers["content-type"] else "")
                for a in answers]

    answers = world.run(twenty)
    assert [s for s, _ in answers] == [200] * 24, [t[:300] for s, t in answers if s != 200]
    assert not any("locked" in t for _, t in answers)
    figures = {re.sub(r'"made_at":"[^"]*"', "", text) for _, text in answers[:20]}
    assert len(figures) == 1 and '"providers":[' in next(iter(figures))


@pytest.mark.parametrize("role", ["provider_user", "provider_admin"])
def test_another_providers_scores_are_a_404_that_names_nothing(world, hostile, role):
    b = hostile["providers"]["b"]
    r = world.people[role].get(f"/api/v1/providers/{b['id']}/scores")
    body = problem(r, 404)
    assert "qzxbravo" not in r.text.lower() and b["nzbn"] not in r.text, body
    # Word for word what an id that names no provider gets: nothing tells that B exists.
    nobody = "00000000-0000-4000-8000-000000000000"
    other = problem(world.people[role].get(f"/api/v1/providers/{nobody}/scores"), 404)
    assert {k: str(v).replace(str(b["id"]), "ID") for k, v in body.items() if k != "instance"} == {
        k: str(v).replace(nobody, "ID") for k, v in other.items() if k != "instance"}
    # Their own provider's scores are theirs (so the 404 is about whose, not a broken route).
    r = world.people[role].get(f"/api/v1/providers/{world.provider_a['id']}/scores")
    assert r.status_code == 200, r.text


def test_a_deactivated_persons_token_is_refused(world):
    who = world.provider_admin
    assert who.get(f"/api/v1/providers/{world.provider_a['id']}/scores").status_code == 200
    # Deactivated behind the service's back (so its revoking tokens is not what refuses them): still refused.
    _update(world, User, {User.active: False}, User.id == who.user["id"])
    problem(who.get(f"/api/v1/providers/{world.provider_a['id']}/scores"), 401)
    auditor = world.auditor
    assert auditor.get(JSON).status_code == 200
    r = world.admin.patch(f"/api/v1/users/{auditor.user['id']}", json={"active": False})
    assert r.status_code == 200, r.text
    for path in (JSON, WORKBOOK, "/api/v1/scores"):
        problem(auditor.get(path), 401)
