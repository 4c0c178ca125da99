"""Audits to test with: a provider's audit of the mini template, taken as far as a test needs (in progress, with a
finding, a corrective action and evidence on both). Helpers only: ``from tests.support import audit_records``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from partner_audit.audits import calendar
from partner_audit.controls import service as controls
from tests.support.paths import DATA

PDF = b"%PDF-1.4\n% what the auditor saw on site\n%%EOF\n"


def upload(filename: str, content: bytes = PDF, boundary: str = "audit-evidence-boundary") -> dict[str, Any]:
    """A multipart form holding one file, as ``post(**upload(...))`` arguments: built whole, so the request's
    bytes can be read back afterwards (httpx streams a form made from ``files=``)."""
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return {"content": body, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def anniversary(provider: dict[str, Any]) -> Any:
    return provider.get("anniversary_day") or calendar.for_region(provider["region"])


def working_day(provider: dict[str, Any], after: int, start: date | None = None) -> date:
    """The ``after``-th working day after ``start`` (today) where the provider works."""
    return calendar.add_working_days(start or date.today(), after, anniversary(provider))


def mini_template(world) -> str:
    row, _ = world.run(lambda: controls.load_file(DATA / "mini-template.yaml"))
    return str(row["id"])


def audit_body(world, provider: dict[str, Any], offset: int = 10, days: int = 2, **fields: Any) -> dict[str, Any]:
    """A site visit of ``provider`` on working days ``offset`` on, led by the world's auditor."""
    starts_on = working_day(provider, offset)
    return {"provider_id": str(provider["id"]), "kind": "site_visit", "title": f"Site visit: {provider['name']}",
            "template_version_id": mini_template(world), "starts_on": starts_on.isoformat(),
            "ends_on": working_day(provider, days - 1, starts_on).isoformat() if days > 1 else starts_on.isoformat(),
            "lead_auditor_id": str(world.auditor.user["id"]), **fields}


def created(world, provider: dict[str, Any], **fields: Any) -> dict[str, Any]:
    r = world.auditor.post("/api/v1/audits", json=audit_body(world, provider, **fields))
    assert r.status_code == 201, r.text
    return r.json()


def in_progress(world, provider: dict[str, Any], **fields: Any) -> dict[str, Any]:
    audit = created(world, provider, **fields)
    for step in ("schedule", "start"):
        r = world.auditor.post(f"/api/v1/audits/{audit['id']}/{step}")
        assert r.status_code == 200, r.text
    return r.json()


def finding(world, audit_id: str, control_id: str = "privacy-lead", **fields: Any) -> dict[str, Any]:
    body = {"control_id": control_id, "rating": "ineffective", "severity": "high",
            "observation": "No privacy lead has been named since March.",
            "recommendation": "Name a privacy lead and tell staff who it is.", **fields}
    r = world.auditor.post(f"/api/v1/audits/{audit_id}/findings", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def action(world, finding_id: str, due_in_days: int = 30, **fields: Any) -> dict[str, Any]:
    body = {"description": "Appoint a privacy lead and publish their name to staff.", "owner_name": "Hine Walker",
            "owner_email": "hine@provider.example", "due_on": (date.today() + timedelta(days=due_in_days)).isoformat(),
            **fields}
    r = world.auditor.post(f"/api/v1/findings/{finding_id}/actions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def recorded(world, provider: dict[str, Any], admin, offset: int) -> dict[str, Any]:
    """The provider's audit in progress, with a high finding (and the auditor's photo of it), a corrective action
    (and the provider admin's proof): made on first use, found after."""
    # Its own site visit (the first by date), whatever other kinds of audit of the provider a test has made; the
    # route walks may rename it.
    found = world.admin.get("/api/v1/audits", params={"provider_id": str(provider["id"]), "kind": "site_visit",
                                                      "page_size": 200}).json()["items"]
    if found:
        audit = found[0]
    else:
        audit = in_progress(world, provider, offset=offset)
        made = finding(world, audit["id"])
        r = world.auditor.post(f"/api/v1/findings/{made['id']}/evidence",
                               files={"file": ("site-photo.pdf", PDF)})
        assert r.status_code == 201, r.text
        raised = action(world, made["id"])
        r = admin.post(f"/api/v1/corrective-actions/{raised['id']}/evidence",
                       files={"file": ("lead-appointed.pdf", PDF)})
        assert r.status_code == 201, r.text
    # Found by what was made above: the route walks add findings and actions of their own as they go.
    (made,) = [f for f in world.admin.get(f"/api/v1/audits/{audit['id']}/findings").json()
               if f["control_id"] == "privacy-lead"]
    (raised,) = [a for a in world.admin.get("/api/v1/corrective-actions", params={
        "audit_id": audit["id"], "page_size": 200}).json()["items"] if a["owner_name"] == "Hine Walker"]
    return {"audit": audit, "finding": made, "action": raised, "finding_evidence": made["evidence"][0],
            "action_evidence": raised["evidence"][0]}


def b_record(world) -> dict[str, Any]:
    return recorded(world, world.provider_b, world.b_admin, offset=20)


def a_record(world) -> dict[str, Any]:
    return recorded(world, world.provider_a, world.provider_admin, offset=10)


def b_audit_as_admin_sees_it(world) -> Any:
    record = b_record(world)
    audit_id = record["audit"]["id"]
    return (world.admin.get(f"/api/v1/audits/{audit_id}").json(),
            world.admin.get(f"/api/v1/audits/{audit_id}/findings").json(),
            world.admin.get("/api/v1/corrective-actions", params={"audit_id": audit_id}).json(),
            world.admin.get("/api/v1/audits", params={"page_size": 200}).json())
