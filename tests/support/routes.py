"""Every API route as a person at provider A would call it against provider B's records, and what must happen.

``CASES`` is the catalogue: tests/security/test_tenant_isolation.py checks each role gets what its CASE expects and
that every /api/ route has a CASE (or a ``NOT_PROVIDER_DATA`` reason); tests/security/test_policies.py walks the
same requests through each route's policy. Helpers only: ``from tests.support.routes import CASES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.support import audit_records as ar
from tests.support.http import Api
from tests.support.paths import DATA
from tests.support.world import World
from partner_audit.assessments.xlsx import MEDIA_TYPE as XLSX
from partner_audit.controls import service as controls
from partner_audit.audits.tables import Audit
from partner_audit.devices.tables import Assignment
from tests.support.audits import new_audit

NOT_FOUND, FORBIDDEN, LIST = "404", "403", "list"
PROVIDER_ROLES = ("provider_user", "provider_admin")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

# Routes that take no provider's record: no id in the path or body to point at provider B.
NOT_PROVIDER_DATA: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "public: signing in names an email, not a record",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session, nothing else",
    ("GET", "/api/v1/me"): "the caller's own account, found from their own token",
    ("POST", "/api/v1/me/tokens"): "makes a token for the caller; takes no id",
    ("POST", "/api/v1/me/password"): "changes the caller's own password; takes no id",
    ("GET", "/api/v1/templates"): "the control library: the questionnaires every provider answers, no one's data",
    ("GET", "/api/v1/templates/{version_id:uuid}"): "one questionnaire template version: no provider's data",
    ("GET", "/api/v1/calendar-feeds/feed/{name:str}"): "public: the secret token in the address is the credential, "
                                                       "and it reads only its own feed (test_calendars)",
}

# Routes anyone may reach without signing in, and why that is safe.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): "the sign-in page: static HTML",
    ("POST", "/api/v1/auth/login"): "signing in",
    ("GET", "/health/live"): "liveness probe: no data",
    ("GET", "/health/ready"): "readiness probe: no data",
    ("GET", "/schema"): "API documentation",
    ("GET", "/schema/{path:str}"): "API documentation",
    ("GET", "/schema/openapi.json"): "API documentation",
    ("GET", "/schema/oauth2-redirect.html"): "API documentation",
    ("GET", "/static/swagger/{file_path:path}"): "the documentation page's own scripts and styles",
    ("GET", "/static/web/{file_path:path}"): "the pages' own scripts and styles",
    ("GET", "/attest/{token:str}"): "a device holder has no account: the single-use token in the emailed link is "
                                    "the credential, and the page shows only that token's own assignment",
    ("POST", "/attest/{token:str}"): "the holder confirms, with the same token; single use, then it is spent",
    ("GET", "/api/v1/calendar-feeds/feed/{name:str}"): "calendar clients subscribe without a session: the secret, "
                                                       "revocable token in the address (kept as a keyed hash) is the "
                                                       "credential, and the feed shows only its own owner's audits",
}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # exactly as in the route table
    call: Callable[[World, Api], Any]  # the request, as `who` (a person at provider A), aimed at provider B
    expect: dict[str, str]  # role -> NOT_FOUND | FORBIDDEN | LIST
    # Writes: provider B's record as an agency admin sees it; must be the same before and after.
    snapshot: Callable[[World], Any] | None = None
    # Lists: what of the caller's own must be there, so an empty answer cannot pass for a scoped one.
    own: Callable[[World, Api], list[str]] | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")


def b(world: World) -> str:
    return str(world.provider_b["id"])


def b_assessment_id(world: World) -> str:
    """Provider B's assessment of the mini template, launched for B alone on first use."""
    def find() -> list[dict[str, Any]]:
        return world.admin.get("/api/v1/assessments", params={"provider_id": b(world)}).json()["items"]

    if not find():
        row, _ = world.run(lambda: controls.load_file(DATA / "mini-template.yaml"))
        rollout = world.partnerships.post("/api/v1/rollouts", json={
            "name": "B only", "template_version_id": str(row["id"]), "period": "2025-Q3",
            "opens_on": date.today().isoformat(), "due_on": (date.today() + timedelta(days=30)).isoformat(),
            "selection": {"provider_ids": [b(world)]}}).json()
        world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch")
    return find()[0]["id"]


def b_assessment_as_admin_sees_it(world: World) -> Any:
    aid = b_assessment_id(world)
    b_evidence_id(world)  # B's file exists before any call, so a deletion would show
    return world.admin.get(f"/api/v1/assessments/{aid}").json()


def b_comment_id(world: World) -> str:
    """The auditor's comment on a question of provider B's assessment, and B's reply to it."""
    aid = b_assessment_id(world)
    comments = world.admin.get(f"/api/v1/assessments/{aid}").json()["comments"]
    if not comments:
        raised = world.auditor.post(f"/api/v1/assessments/{aid}/comments",
                                    json={"question_id": "has-lead", "body": "Who is B's lead?"}).json()
        world.b_user.post(f"/api/v1/assessments/{aid}/comments",
                          json={"question_id": "has-lead", "body": "B's answer", "reply_to": raised["id"]})
        comments = world.admin.get(f"/api/v1/assessments/{aid}").json()["comments"]
    return comments[0]["id"]


def a_assessment_id(world: World) -> str:
    """Provider A's own assessment, beside B's, so a scoped list must show one and hide the other."""
    b_assessment_id(world)
    found = world.admin.get("/api/v1/assessments", params={"provider_id": str(world.provider_a["id"])}).json()
    if not found["items"]:
        rollout = world.admin.get("/api/v1/rollouts").json()["items"][0]
        world.partnerships.post("/api/v1/rollouts", json={
            "name": "A only", "template_version_id": rollout["template_version_id"], "period": "2025-Q3",
            "opens_on": date.today().isoformat(), "due_on": (date.today() + timedelta(days=30)).isoformat(),
            "selection": {"provider_ids": [str(world.provider_a["id"])]}})
        rollout = world.admin.get("/api/v1/rollouts").json()["items"][0]
        world.partnerships.post(f"/api/v1/rollouts/{rollout['id']}/launch")
        found = world.admin.get("/api/v1/assessments", params={"provider_id": str(world.provider_a["id"])}).json()
    return found["items"][0]["id"]


def own_assessment(world: World, who: Api) -> list[str]:
    return [a_assessment_id(world)]


def b_rollout_id(world: World) -> str:
    return b_assessment_as_admin_sees_it(world)["rollout_id"]


def b_evidence_id(world: World) -> str:
    """A file provider B's staff attached to B's assessment."""
    aid = b_assessment_id(world)
    evidence = world.admin.get(f"/api/v1/assessments/{aid}").json()["evidence"]
    if not evidence:
        world.b_user.post(f"/api/v1/assessments/{aid}/evidence", data={"question_id": "has-lead"},
                          files={"file": ("b-policy.pdf", b"%PDF-1.4\nprovider B's policy\n%%EOF\n")})
        evidence = world.admin.get(f"/api/v1/assessments/{aid}").json()["evidence"]
    return evidence[0]["id"]


def all_assessments_as_admin_sees_them(world: World) -> Any:
    b_assessment_id(world)
    return world.admin.get("/api/v1/assessments", params={"page_size": 200}).json()


B_HOLDER = ("Bea Holder", "bea.holder@provider-b.example")  # who holds provider B's device: never shown to A


def held_device(world: World, tag: str, provider_id: str, holder: tuple[str, str]) -> dict[str, Any]:
    """A device held at a provider, past its expected return, with a near miss reported; made on first use."""
    found = world.admin.get("/api/v1/devices", params={"q": tag}).json()["items"]
    if found:
        return found[0]
    device = world.partnerships.post("/api/v1/devices", json={"asset_tag": tag, "kind": "laptop"}).json()
    world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json={
        "provider_id": provider_id, "holder_name": holder[0], "holder_email": holder[1], "purpose": "Case work",
        "starts_on": (date.today() - timedelta(days=60)).isoformat(),
        "expected_return_on": (date.today() - timedelta(days=1)).isoformat()})
    world.partnerships.post("/api/v1/incidents", json={
        "device_id": device["id"], "kind": "near_miss", "occurred_at": "2025-01-06T09:00:00+13:00",
        "reported_by": "Privacy lead", "information_at_risk": "Client records"})
    return world.admin.get(f"/api/v1/devices/{device['id']}").json()


def b_device(world: World) -> dict[str, Any]:
    return held_device(world, "B-DEVICE", b(world), B_HOLDER)


def own_device_tag(world: World, who: Api) -> list[str]:
    own_device(world, who)
    return ["A-DEVICE"]


def register_ready(world: World) -> None:
    """Both providers hold a device before a list is asked for: B's must stay out, A's must be in."""
    b_device(world)
    own_device(world, world.provider_admin)


def b_incident(world: World) -> dict[str, Any]:
    return world.admin.get("/api/v1/incidents", params={"device_id": b_device(world)["id"]}).json()["items"][0]


def b_device_as_admin_sees_it(world: World) -> Any:
    device_id = b_device(world)["id"]
    incidents = world.admin.get("/api/v1/incidents", params={"device_id": device_id}).json()
    return (world.admin.get(f"/api/v1/devices/{device_id}").json(),
            world.admin.get("/api/v1/assignments", params={"device_id": device_id}).json(),
            [(i["kind"], i["assessment"]["status"]) for i in incidents["items"]])


def b_breach_as_admin_sees_it(world: World) -> Any:
    row = world.admin.get(f"/api/v1/breach-assessments/{b_incident(world)['assessment']['id']}").json()
    return {k: v for k, v in row.items() if k != "hours_since_incident"}  # the clock moves; nothing else may


def all_devices_as_admin_sees_them(world: World) -> Any:
    return world.admin.get("/api/v1/devices", params={"page_size": 200}).json()


def own_device(world: World, who: Api) -> list[str]:
    return [held_device(world, "A-DEVICE", str(world.provider_a["id"]), ("Aroha Ngata", "aroha@a.example"))["id"]]


def own_assignment(world: World, who: Api) -> list[str]:
    return [world.admin.get(f"/api/v1/devices/{own_device(world, who)[0]}").json()["current_assignment"]["id"]]


def own_incident(world: World, who: Api) -> list[str]:
    device_id = own_device(world, who)[0]
    return [world.admin.get("/api/v1/incidents", params={"device_id": device_id}).json()["items"][0]["id"]]


def overdue_ready(world: World) -> None:
    """A's and B's held devices both owe an attestation: their assignments started 100 days ago."""
    register_ready(world)
    world.run(lambda: Assignment.update({Assignment.starts_on: date.today() - timedelta(days=100)}).where(
        Assignment.open_device.is_not_null()).run())


def b_attestations_as_admin_sees_them(world: World) -> Any:
    overdue_ready(world)
    return world.admin.get("/api/v1/attestations/overdue").json(), world.admin.get("/api/v1/outbox").json()


def b_user_id(world: World) -> str:
    return str(world.b_user.user["id"])


def b_token_ids(world: World) -> list[str]:
    return [t["id"] for t in world.b_user.get("/api/v1/me/tokens").json()]


def b_user_as_admin_sees_it(world: World) -> Any:
    return world.admin.get(f"/api/v1/users/{b_user_id(world)}").json(), world.b_user.get("/api/v1/me").status_code


def b_provider_as_admin_sees_it(world: World) -> Any:
    return world.admin.get(f"/api/v1/providers/{b(world)}").json()


def all_users_as_admin_sees_them(world: World) -> Any:
    return world.admin.get("/api/v1/users", params={"page_size": 200}).json()


def all_providers_as_admin_sees_them(world: World) -> Any:
    return world.admin.get("/api/v1/providers", params={"page_size": 200}).json()


def b_tokens_as_b_sees_them(world: World) -> Any:
    return world.b_user.get("/api/v1/me/tokens").json(), world.b_user.get("/api/v1/me").status_code


def own_provider(world: World, who: Api) -> list[str]:
    return [str(world.provider_a["id"])]


def own_colleague(world: World, who: Api) -> list[str]:
    return [str(world.provider_user.user["id"])]


def own_tokens(world: World, who: Api) -> list[str]:
    return [t["id"] for t in who.get("/api/v1/me/tokens").json()]


# --- audits: spot-checks and calendars ---


def audit_titled(world: World, provider: dict[str, Any], title: str, **fields: Any) -> str:
    """An audit of ``provider`` with this title, made on first use (in the tables: see tests.support.audits)."""
    found = world.run(lambda: Audit.select(Audit.id).where(Audit.provider == provider["id"],
                                                           Audit.title == title).first().run())
    return str(found["id"]) if found else new_audit(world, provider, title=title, **fields)


def b_spot_check(world: World) -> str:
    """Provider B's device spot-check, in progress, with B's device in its drawn sample."""
    b_device(world)
    audit_id = audit_titled(world, world.provider_b, "B spot-check", status="in_progress")
    world.admin.post(f"/api/v1/audits/{audit_id}/sample", json={"size": 1})  # a 409 once drawn
    return audit_id


def b_undrawn_spot_check(world: World) -> str:
    b_device(world)
    return audit_titled(world, world.provider_b, "B spot-check to draw")


def b_sample_as_admin_sees_it(world: World, audit_id: str) -> Any:
    r = world.admin.get(f"/api/v1/audits/{audit_id}/sample")
    return r.status_code, r.json()


def b_item_id(world: World) -> str:
    return b_sample_as_admin_sees_it(world, b_spot_check(world))[1]["items"][0]["id"]


def b_feed_id(world: World) -> str:
    """A calendar feed of provider B's audits, made by B's admin."""
    found = world.b_admin.get("/api/v1/calendar-feeds").json()["items"]
    if not found:
        found = [world.b_admin.post("/api/v1/calendar-feeds", json={"owner": "provider", "label": "B's"}).json()]
    return found[0]["id"]


def all_feeds_as_admin_sees_them(world: World) -> Any:
    b_feed_id(world)
    return world.admin.get("/api/v1/calendar-feeds", params={"page_size": 200}).json()


def own_feed(world: World, who: Api) -> list[str]:
    found = world.provider_admin.get("/api/v1/calendar-feeds").json()["items"]
    if not found:
        found = [world.provider_admin.post("/api/v1/calendar-feeds", json={"owner": "provider"}).json()]
    return [found[0]["id"]]


def calendar_ready(world: World) -> None:
    """An audit of each provider in the calendar's default range (from today, three months)."""
    audit_titled(world, world.provider_b, "B's review", kind="desktop_review")
    audit_titled(world, world.provider_a, "A's review", kind="desktop_review")


def own_calendar_audit(world: World, who: Api) -> list[str]:
    return [audit_titled(world, world.provider_a, "A's review", kind="desktop_review")]


BOTH_404 = {"provider_user": NOT_FOUND, "provider_admin": NOT_FOUND}
BOTH_403 = {"provider_user": FORBIDDEN, "provider_admin": FORBIDDEN}
BOTH_LIST = {"provider_user": LIST, "provider_admin": LIST}
USER_ADMINS_ONLY_404 = {"provider_user": FORBIDDEN, "provider_admin": NOT_FOUND}
USER_ADMINS_ONLY_LIST = {"provider_user": FORBIDDEN, "provider_admin": LIST}

CASES = [
    # --- my tokens ---
    Case("GET", "/api/v1/me/tokens", lambda w, who: who.get("/api/v1/me/tokens"), BOTH_LIST, own=own_tokens),
    Case("DELETE", "/api/v1/me/tokens/{token_id:uuid}",
         lambda w, who: who.delete(f"/api/v1/me/tokens/{b_token_ids(w)[0]}"), BOTH_404,
         snapshot=b_tokens_as_b_sees_them),
    # --- users ---
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users"), USER_ADMINS_ONLY_LIST, own=own_colleague),
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users", params={"provider_id": b(w)}),
         USER_ADMINS_ONLY_LIST, note="filtered to provider B"),
    Case("GET", "/api/v1/users", lambda w, who: who.get("/api/v1/users", params={"q": "b.user"}),
         USER_ADMINS_ONLY_LIST, note="searching for B's person"),
    Case("POST", "/api/v1/users",
         lambda w, who: who.post("/api/v1/users", json={
             "email": "planted@example.org", "full_name": "Planted", "role": "provider_admin",
             "password": "long enough password", "provider_id": b(w)}),
         USER_ADMINS_ONLY_404, snapshot=all_users_as_admin_sees_them, note="a user at provider B"),
    Case("GET", "/api/v1/users/{user_id:uuid}", lambda w, who: who.get(f"/api/v1/users/{b_user_id(w)}"),
         USER_ADMINS_ONLY_404),
    Case("PATCH", "/api/v1/users/{user_id:uuid}",
         lambda w, who: who.patch(f"/api/v1/users/{b_user_id(w)}", json={"active": False, "full_name": "Taken"}),
         USER_ADMINS_ONLY_404, snapshot=b_user_as_admin_sees_it),
    # --- access log: the agency's, never a provider's ---
    Case("GET", "/api/v1/access-log", lambda w, who: who.get("/api/v1/access-log", params={"provider_id": b(w)}),
         BOTH_403),
    Case("GET", "/api/v1/access-log/verify", lambda w, who: who.get("/api/v1/access-log/verify"), BOTH_403),
    # --- providers ---
    Case("GET", "/api/v1/providers", lambda w, who: who.get("/api/v1/providers"), BOTH_LIST, own=own_provider),
    Case("GET", "/api/v1/providers", lambda w, who: who.get("/api/v1/providers", params={"q": "Provider B"}),
         BOTH_LIST, note="searching for B by name"),
    Case("POST", "/api/v1/providers",
         lambda w, who: who.post("/api/v1/providers", json={
             "name": "Planted", "nzbn": "9429000000999", "kind": "ngo", "region": "Otago", "risk_tier": 1}),
         BOTH_403, snapshot=all_providers_as_admin_sees_them),
    Case("GET", "/api/v1/providers/{provider_id:uuid}", lambda w, who: who.get(f"/api/v1/providers/{b(w)}"),
         BOTH_404),
    Case("PATCH", "/api/v1/providers/{provider_id:uuid}",
         lambda w, who: who.patch(f"/api/v1/providers/{b(w)}", json={"name": "Taken Over", "risk_tier": 3}),
         BOTH_403, snapshot=b_provider_as_admin_sees_it),
    Case("POST", "/api/v1/providers/{provider_id:uuid}/status",
         lambda w, who: who.post(f"/api/v1/providers/{b(w)}/status", json={"status": "suspended", "reason": "x"}),
         BOTH_403, snapshot=b_provider_as_admin_sees_it),
    # --- outbox: the agency's mail to holders at every provider, admins only ---
    Case("GET", "/api/v1/outbox", lambda w, who: who.get("/api/v1/outbox"), BOTH_403),
    # --- rollouts: the agency's timetable; providers see only their own assessments ---
    Case("GET", "/api/v1/rollouts", lambda w, who: (b_assessment_id(w), who.get("/api/v1/rollouts"))[1], BOTH_403),
    Case("POST", "/api/v1/rollouts", lambda w, who: who.post("/api/v1/rollouts", json={
        "name": "B again", "template_version_id": b_assessment_as_admin_sees_it(w)["template_version_id"],
        "period": "2025-Q4", "opens_on": "2025-10-01", "due_on": "2025-12-31",
        "selection": {"provider_ids": [b(w)]}}), BOTH_403, snapshot=all_assessments_as_admin_sees_them),
    Case("GET", "/api/v1/rollouts/{rollout_id:uuid}", lambda w, who: who.get(f"/api/v1/rollouts/{b_rollout_id(w)}"),
         BOTH_403),
    Case("POST", "/api/v1/rollouts/{rollout_id:uuid}/launch",
         lambda w, who: who.post(f"/api/v1/rollouts/{b_rollout_id(w)}/launch"), BOTH_403,
         snapshot=all_assessments_as_admin_sees_them),
    # --- assessments: a provider's own, and nothing of anyone else's ---
    Case("GET", "/api/v1/assessments", lambda w, who: (a_assessment_id(w), who.get("/api/v1/assessments"))[1],
         BOTH_LIST, own=own_assessment),
    Case("GET", "/api/v1/assessments", lambda w, who: (a_assessment_id(w), who.get(
        "/api/v1/assessments", params={"provider_id": b(w)}))[1], BOTH_LIST, note="filtered to B"),
    Case("GET", "/api/v1/assessments/{assessment_id:uuid}",
         lambda w, who: who.get(f"/api/v1/assessments/{b_assessment_id(w)}"), BOTH_404),
    Case("PUT", "/api/v1/assessments/{assessment_id:uuid}/answers",
         lambda w, who: who.put(f"/api/v1/assessments/{b_assessment_id(w)}/answers",
                                json={"answers": [{"question_id": "has-lead", "value": "yes"}]}),
         BOTH_404, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/answers/confirm",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/answers/confirm",
                                 json={"question_ids": ["has-lead"]}),
         BOTH_404, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/submit",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/submit"), USER_ADMINS_ONLY_404,
         snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/return",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/return", json={"reason": "x"}),
         BOTH_403, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/accept",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/accept", json={}),
         BOTH_403, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/reopen",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/reopen", json={"reason": "x"}),
         BOTH_403, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/comments",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/comments", json={"body": "x"}),
         BOTH_404, snapshot=b_assessment_as_admin_sees_it),
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/comments",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/comments", json={
             "question_id": "has-lead", "body": "x", "reply_to": b_comment_id(w)}),
         BOTH_404, snapshot=lambda w: (b_comment_id(w), b_assessment_as_admin_sees_it(w))[1],
         note="a reply in B's thread"),
    # --- evidence ---
    Case("POST", "/api/v1/assessments/{assessment_id:uuid}/evidence",
         lambda w, who: who.post(f"/api/v1/assessments/{b_assessment_id(w)}/evidence",
                                 data={"question_id": "has-lead"}, files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n")}),
         BOTH_404, snapshot=b_assessment_as_admin_sees_it),
    Case("GET", "/api/v1/evidence/{evidence_id:uuid}/download",
         lambda w, who: who.get(f"/api/v1/evidence/{b_evidence_id(w)}/download"), BOTH_404),
    Case("PATCH", "/api/v1/evidence/{evidence_id:uuid}",
         lambda w, who: who.patch(f"/api/v1/evidence/{b_evidence_id(w)}", json={"expires_on": None}), BOTH_404,
         snapshot=b_assessment_as_admin_sees_it),
    Case("DELETE", "/api/v1/evidence/{evidence_id:uuid}",
         lambda w, who: who.delete(f"/api/v1/evidence/{b_evidence_id(w)}"), BOTH_404,
         snapshot=b_assessment_as_admin_sees_it),
    # --- offline workbooks ---
    Case("GET", "/api/v1/assessments/{assessment_id:uuid}/workbook",
         lambda w, who: who.get(f"/api/v1/assessments/{b_assessment_id(w)}/workbook"), BOTH_404),
    Case("PUT", "/api/v1/assessments/{assessment_id:uuid}/workbook",
         lambda w, who: who.put(f"/api/v1/assessments/{b_assessment_id(w)}/workbook",
                                files={"file": ("filled.xlsx", b"not read: B's assessment is not found first", XLSX)}),
         BOTH_404, snapshot=b_assessment_as_admin_sees_it),
    # --- device register: a provider's people see what their provider holds; the agency runs it ---
    Case("GET", "/api/v1/devices", lambda w, who: (register_ready(w), who.get("/api/v1/devices"))[1], BOTH_LIST,
         own=own_device),
    Case("GET", "/api/v1/devices", lambda w, who: (register_ready(w), who.get("/api/v1/devices", params={
        "provider_id": b(w)}))[1], BOTH_LIST, note="filtered to provider B"),
    Case("GET", "/api/v1/devices", lambda w, who: (register_ready(w), who.get("/api/v1/devices", params={
        "q": B_HOLDER[0]}))[1], BOTH_LIST, note="searching for B's holder by name"),
    Case("POST", "/api/v1/devices", lambda w, who: who.post("/api/v1/devices", json={
        "asset_tag": "PLANTED", "kind": "phone"}), BOTH_403, snapshot=all_devices_as_admin_sees_them),
    Case("GET", "/api/v1/devices/{device_id:uuid}", lambda w, who: who.get(f"/api/v1/devices/{b_device(w)['id']}"),
         BOTH_404),
    Case("PATCH", "/api/v1/devices/{device_id:uuid}", lambda w, who: who.patch(
        f"/api/v1/devices/{b_device(w)['id']}", json={"notes": "taken"}), BOTH_403, snapshot=b_device_as_admin_sees_it),
    Case("POST", "/api/v1/devices/{device_id:uuid}/status", lambda w, who: who.post(
        f"/api/v1/devices/{b_device(w)['id']}/status", json={"status": "retired", "reason": "x"}), BOTH_403,
         snapshot=b_device_as_admin_sees_it),
    Case("GET", "/api/v1/devices/{device_id:uuid}/history",
         lambda w, who: who.get(f"/api/v1/devices/{b_device(w)['id']}/history"), BOTH_404),
    Case("POST", "/api/v1/devices/{device_id:uuid}/check-out", lambda w, who: who.post(
        f"/api/v1/devices/{b_device(w)['id']}/check-out", json={
            "provider_id": str(w.provider_a["id"]), "holder_name": "Taker", "holder_email": "t@a.example",
            "purpose": "x", "starts_on": date.today().isoformat()}), BOTH_403, snapshot=b_device_as_admin_sees_it),
    Case("POST", "/api/v1/devices/{device_id:uuid}/check-in", lambda w, who: who.post(
        f"/api/v1/devices/{b_device(w)['id']}/check-in", json={
            "returned_on": date.today().isoformat(), "condition": "x", "data_wiped": False}), BOTH_403,
         snapshot=b_device_as_admin_sees_it),
    Case("POST", "/api/v1/devices/{device_id:uuid}/transfer", lambda w, who: who.post(
        f"/api/v1/devices/{b_device(w)['id']}/transfer", json={}), BOTH_403, snapshot=b_device_as_admin_sees_it),
    Case("GET", "/api/v1/assignments", lambda w, who: (register_ready(w), who.get("/api/v1/assignments"))[1],
         BOTH_LIST, own=own_assignment),
    Case("GET", "/api/v1/assignments", lambda w, who: (register_ready(w), who.get("/api/v1/assignments", params={
        "provider_id": b(w)}))[1], BOTH_LIST, note="filtered to provider B"),
    Case("GET", "/api/v1/assignments/exceptions", lambda w, who: (register_ready(w), who.get(
        "/api/v1/assignments/exceptions"))[1], BOTH_LIST, own=own_assignment, note="both overdue"),
    Case("GET", "/api/v1/assignments/{assignment_id:uuid}", lambda w, who: who.get(
        f"/api/v1/assignments/{b_device(w)['current_assignment']['id']}"), BOTH_404),
    Case("GET", "/api/v1/incidents", lambda w, who: (register_ready(w), who.get("/api/v1/incidents"))[1], BOTH_LIST,
         own=own_incident),
    Case("POST", "/api/v1/incidents", lambda w, who: who.post("/api/v1/incidents", json={
        "device_id": b_device(w)["id"], "kind": "stolen", "occurred_at": "2025-01-06T09:00:00+13:00",
        "reported_by": "x", "information_at_risk": "x"}), BOTH_404, snapshot=b_device_as_admin_sees_it),
    Case("GET", "/api/v1/incidents/summary", lambda w, who: (register_ready(w), who.get("/api/v1/incidents/summary"))[1],
         BOTH_LIST, note="counts only; test_incidents checks they are the caller's"),
    Case("GET", "/api/v1/incidents/{incident_id:uuid}",
         lambda w, who: who.get(f"/api/v1/incidents/{b_incident(w)['id']}"), BOTH_404),
    # --- attestations: the agency asks for them; a provider's people see their own overdue ones ---
    Case("GET", "/api/v1/attestations/overdue", lambda w, who: (overdue_ready(w), who.get(
        "/api/v1/attestations/overdue"))[1], BOTH_LIST, own=own_assignment),
    Case("POST", "/api/v1/assignments/{assignment_id:uuid}/attestation-link", lambda w, who: who.post(
        f"/api/v1/assignments/{b_device(w)['current_assignment']['id']}/attestation-link"), BOTH_403,
         snapshot=b_attestations_as_admin_sees_them),
    Case("POST", "/api/v1/assignments/{assignment_id:uuid}/attestations", lambda w, who: who.post(
        f"/api/v1/assignments/{b_device(w)['current_assignment']['id']}/attestations",
        json={"holds_device": True, "authorised_use_only": True}), BOTH_403,
         snapshot=b_attestations_as_admin_sees_them),
    Case("GET", "/api/v1/breach-assessments", lambda w, who: who.get("/api/v1/breach-assessments"), BOTH_403),
    # --- register import and exports ---
    Case("POST", "/api/v1/devices/import", lambda w, who: who.post("/api/v1/devices/import", content=(
        "Asset Tag,Checked Out To,Email,Provider,Purpose\r\nB-DEVICE,Taker,t@a.example,"
        f"{w.provider_a['nzbn']},x\r\n").encode(), headers={"Content-Type": "text/csv"}), BOTH_403,
         snapshot=b_device_as_admin_sees_it, note="taking B's device"),
    Case("GET", "/api/v1/devices/export", lambda w, who: (register_ready(w), who.get(
        "/api/v1/devices/export", params={"format": "csv"}))[1], BOTH_LIST, own=own_device_tag),
    Case("GET", "/api/v1/devices/export", lambda w, who: (register_ready(w), who.get(
        "/api/v1/devices/export", params={"format": "csv", "provider_id": b(w)}))[1], BOTH_LIST,
         note="filtered to provider B"),
    Case("GET", "/api/v1/devices/export/history", lambda w, who: (register_ready(w), who.get(
        "/api/v1/devices/export/history", params={"format": "csv", "holder_email": B_HOLDER[1]}))[1],
         USER_ADMINS_ONLY_LIST, note="B's holder: an empty file"),
    Case("GET", "/api/v1/breach-assessments/{assessment_id:uuid}",
         lambda w, who: who.get(f"/api/v1/breach-assessments/{b_incident(w)['assessment']['id']}"), BOTH_403),
    Case("PATCH", "/api/v1/breach-assessments/{assessment_id:uuid}", lambda w, who: who.patch(
        f"/api/v1/breach-assessments/{b_incident(w)['assessment']['id']}", json={"serious_harm_likely": False}),
         BOTH_403, snapshot=b_breach_as_admin_sees_it),
    Case("POST", "/api/v1/breach-assessments/{assessment_id:uuid}/close", lambda w, who: who.post(
        f"/api/v1/breach-assessments/{b_incident(w)['assessment']['id']}/close"), BOTH_403,
         snapshot=b_breach_as_admin_sees_it),
    # --- Privacy Act requests: partnerships and admin only ---
    Case("POST", "/api/v1/privacy-requests", lambda w, who: (b_device(w), who.post(
        "/api/v1/privacy-requests", json={"email": B_HOLDER[1]}))[1], BOTH_403, note="for B's holder"),
    # --- audits: spot-checks and calendars ---
    Case("POST", "/api/v1/audits/{audit_id:uuid}/sample", lambda w, who: who.post(
        f"/api/v1/audits/{b_undrawn_spot_check(w)}/sample", json={"size": 1}), BOTH_403,
         snapshot=lambda w: b_sample_as_admin_sees_it(w, b_undrawn_spot_check(w))),
    Case("GET", "/api/v1/audits/{audit_id:uuid}/sample", lambda w, who: who.get(
        f"/api/v1/audits/{b_spot_check(w)}/sample"), USER_ADMINS_ONLY_404),
    Case("POST", "/api/v1/spot-check-items/{item_id:uuid}", lambda w, who: who.post(
        f"/api/v1/spot-check-items/{b_item_id(w)}", json={"result": "seen"}), BOTH_403,
         snapshot=lambda w: b_sample_as_admin_sees_it(w, b_spot_check(w))),
    Case("POST", "/api/v1/calendar-feeds", lambda w, who: who.post("/api/v1/calendar-feeds", json={
        "owner": "provider", "provider_id": b(w)}), USER_ADMINS_ONLY_404, snapshot=all_feeds_as_admin_sees_them,
         note="a feed of provider B's audits"),
    Case("GET", "/api/v1/calendar-feeds", lambda w, who: (b_feed_id(w), own_feed(w, who), who.get(
        "/api/v1/calendar-feeds"))[2], USER_ADMINS_ONLY_LIST, own=own_feed),
    Case("POST", "/api/v1/calendar-feeds/{feed_id:uuid}/revoke", lambda w, who: who.post(
        f"/api/v1/calendar-feeds/{b_feed_id(w)}/revoke"), USER_ADMINS_ONLY_404, snapshot=all_feeds_as_admin_sees_them),
    Case("GET", "/api/v1/calendar", lambda w, who: (calendar_ready(w), who.get("/api/v1/calendar"))[1], BOTH_LIST,
         own=own_calendar_audit),
    Case("GET", "/api/v1/calendar", lambda w, who: (calendar_ready(w), who.get("/api/v1/calendar", params={
        "provider_id": b(w)}))[1], BOTH_LIST, note="filtered to provider B"),

    # --- audits: core ---
    Case("GET", "/api/v1/audits", lambda w, who: (ar.b_record(w), ar.a_record(w), who.get("/api/v1/audits"))[2],
         BOTH_LIST, own=lambda w, who: [ar.a_record(w)["audit"]["id"]]),
    Case("GET", "/api/v1/audits", lambda w, who: (ar.b_record(w), who.get(
        "/api/v1/audits", params={"provider_id": b(w)}))[1], BOTH_LIST, note="filtered to provider B"),
    Case("POST", "/api/v1/audits", lambda w, who: who.post("/api/v1/audits", json=ar.audit_body(
        w, w.provider_b, offset=30)), BOTH_403, snapshot=ar.b_audit_as_admin_sees_it, note="an audit of B"),
    Case("GET", "/api/v1/audits/{audit_id:uuid}",
         lambda w, who: who.get(f"/api/v1/audits/{ar.b_record(w)['audit']['id']}"), BOTH_404),
    Case("PATCH", "/api/v1/audits/{audit_id:uuid}", lambda w, who: who.patch(
        f"/api/v1/audits/{ar.b_record(w)['audit']['id']}", json={"title": "Taken"}), BOTH_403,
         snapshot=ar.b_audit_as_admin_sees_it),
    *[Case("POST", f"/api/v1/audits/{{audit_id:uuid}}/{step}", lambda w, who, step=step, body=body: who.post(
        f"/api/v1/audits/{ar.b_record(w)['audit']['id']}/{step}", json=body), BOTH_403,
        snapshot=ar.b_audit_as_admin_sees_it)
      for step, body in (("schedule", None), ("start", None), ("report", {"summary": "x"}), ("close", None),
                         ("cancel", {"reason": "Taken over"}))],
    Case("GET", "/api/v1/audits/{audit_id:uuid}/findings",
         lambda w, who: who.get(f"/api/v1/audits/{ar.b_record(w)['audit']['id']}/findings"), BOTH_404),
    Case("POST", "/api/v1/audits/{audit_id:uuid}/findings", lambda w, who: who.post(
        f"/api/v1/audits/{ar.b_record(w)['audit']['id']}/findings", json={"control_id": "device-register"}),
         BOTH_403, snapshot=ar.b_audit_as_admin_sees_it),
    Case("GET", "/api/v1/findings/{finding_id:uuid}",
         lambda w, who: who.get(f"/api/v1/findings/{ar.b_record(w)['finding']['id']}"), BOTH_404),
    Case("PATCH", "/api/v1/findings/{finding_id:uuid}", lambda w, who: who.patch(
        f"/api/v1/findings/{ar.b_record(w)['finding']['id']}", json={"rating": "effective"}), BOTH_403,
         snapshot=ar.b_audit_as_admin_sees_it),
    Case("POST", "/api/v1/findings/{finding_id:uuid}/actions", lambda w, who: who.post(
        f"/api/v1/findings/{ar.b_record(w)['finding']['id']}/actions", json={
            "description": "x", "owner_name": "x", "due_on": (date.today() + timedelta(days=9)).isoformat()}),
         BOTH_403, snapshot=ar.b_audit_as_admin_sees_it),
    Case("POST", "/api/v1/findings/{finding_id:uuid}/evidence", lambda w, who: who.post(
        f"/api/v1/findings/{ar.b_record(w)['finding']['id']}/evidence", **ar.upload("x.pdf")),
         BOTH_403, snapshot=ar.b_audit_as_admin_sees_it),
    Case("GET", "/api/v1/corrective-actions", lambda w, who: (ar.b_record(w), ar.a_record(w), who.get(
        "/api/v1/corrective-actions"))[2], USER_ADMINS_ONLY_LIST,
         own=lambda w, who: [ar.a_record(w)["action"]["id"]]),
    Case("GET", "/api/v1/corrective-actions", lambda w, who: (ar.b_record(w), who.get(
        "/api/v1/corrective-actions", params={"provider_id": b(w)}))[1], USER_ADMINS_ONLY_LIST,
         note="filtered to provider B"),
    Case("GET", "/api/v1/corrective-actions/{action_id:uuid}",
         lambda w, who: who.get(f"/api/v1/corrective-actions/{ar.b_record(w)['action']['id']}"),
         USER_ADMINS_ONLY_404),
    Case("POST", "/api/v1/corrective-actions/{action_id:uuid}/respond", lambda w, who: who.post(
        f"/api/v1/corrective-actions/{ar.b_record(w)['action']['id']}/respond", json={"response": "Done by A"}),
         USER_ADMINS_ONLY_404, snapshot=ar.b_audit_as_admin_sees_it),
    *[Case("POST", f"/api/v1/corrective-actions/{{action_id:uuid}}/{step}", lambda w, who, step=step, body=body:
           who.post(f"/api/v1/corrective-actions/{ar.b_record(w)['action']['id']}/{step}", json=body), BOTH_403,
           snapshot=ar.b_audit_as_admin_sees_it)
      for step, body in (("verify", {"note": "x"}), ("return", {"reason": "x"}), ("carry-forward", {"reason": "x"}))],
    Case("POST", "/api/v1/corrective-actions/{action_id:uuid}/evidence", lambda w, who: who.post(
        f"/api/v1/corrective-actions/{ar.b_record(w)['action']['id']}/evidence",
        **ar.upload("x.pdf")), USER_ADMINS_ONLY_404, snapshot=ar.b_audit_as_admin_sees_it),
    Case("GET", "/api/v1/audit-evidence/{evidence_id:uuid}/download", lambda w, who: who.get(
        f"/api/v1/audit-evidence/{ar.b_record(w)['finding_evidence']['id']}/download"), USER_ADMINS_ONLY_404),
]


# --- audits: planning (plans, and auditors' capacity, leave and conflicts: the auditors' and admins' own) ---


def a_plan_id(world: World) -> str:
    """A plan of the first quarter of 2027, which proposes audits of providers A and B; made on first use."""
    from partner_audit.audits.tables import AuditPlan

    found = world.run(lambda: AuditPlan.select(AuditPlan.id).order_by(AuditPlan.created_at).first().run())
    if found is None:
        return world.auditor.post("/api/v1/audit-plans", json={"starts_on": "2027-01-01",
                                                               "ends_on": "2027-03-31"}).json()["id"]
    return str(found["id"])


def b_proposal_id(world: World) -> str:
    plan = world.admin.get(f"/api/v1/audit-plans/{a_plan_id(world)}").json()
    return next(p["id"] for p in plan["proposals"] if p["provider_id"] == b(world))


def plan_as_admin_sees_it(world: World) -> Any:
    return world.admin.get(f"/api/v1/audit-plans/{a_plan_id(world)}").json()


def auditor_id(world: World) -> str:
    return str(world.auditor.user["id"])


def a_leave_id(world: World) -> str:
    """The auditor's leave, recorded on first use (the walk may have removed it)."""
    path = f"/api/v1/auditors/{auditor_id(world)}/leave"
    found = world.admin.get(path).json()
    if not found:
        found = [world.admin.post(path, json={"starts_on": "2027-01-11", "ends_on": "2027-01-15"}).json()]
    return found[0]["id"]


def b_conflict_id(world: World) -> str:
    """The auditor's declared conflict with provider B."""
    found = world.admin.get("/api/v1/auditor-conflicts", params={"provider_id": b(world)}).json()["items"]
    if not found:
        found = [world.admin.post("/api/v1/auditor-conflicts", json={
            "provider_id": b(world), "auditor_id": auditor_id(world), "reason": "Was on B's board"}).json()]
    return found[0]["id"]


def b_conflicts_as_admin_see_them(world: World) -> Any:
    b_conflict_id(world)  # declared before any call, so a withdrawal would show
    return world.admin.get("/api/v1/auditor-conflicts", params={"provider_id": b(world), "withdrawn": True}).json()


CASES += [
    Case("POST", "/api/v1/audit-plans", lambda w, who: who.post("/api/v1/audit-plans", json={
        "starts_on": "2027-01-01", "ends_on": "2027-03-31"}), BOTH_403),
    Case("GET", "/api/v1/audit-plans", lambda w, who: (a_plan_id(w), who.get("/api/v1/audit-plans"))[1], BOTH_403),
    Case("GET", "/api/v1/audit-plans/{plan_id:uuid}",
         lambda w, who: who.get(f"/api/v1/audit-plans/{a_plan_id(w)}"), BOTH_403),
    Case("POST", "/api/v1/audit-plans/{plan_id:uuid}/accept", lambda w, who: who.post(
        f"/api/v1/audit-plans/{a_plan_id(w)}/accept", json={"audit_ids": [b_proposal_id(w)]}), BOTH_403,
         snapshot=plan_as_admin_sees_it, note="accepting B's proposal"),
    Case("POST", "/api/v1/audit-plans/{plan_id:uuid}/discard",
         lambda w, who: who.post(f"/api/v1/audit-plans/{a_plan_id(w)}/discard"), BOTH_403,
         snapshot=plan_as_admin_sees_it),
    Case("GET", "/api/v1/auditors", lambda w, who: who.get("/api/v1/auditors"), BOTH_403),
    Case("PUT", "/api/v1/auditors/{auditor_id:uuid}/capacity", lambda w, who: who.put(
        f"/api/v1/auditors/{auditor_id(w)}/capacity", json={"audits_per_week": 3}), BOTH_403),
    Case("POST", "/api/v1/auditors/{auditor_id:uuid}/leave", lambda w, who: who.post(
        f"/api/v1/auditors/{auditor_id(w)}/leave", json={"starts_on": "2027-02-01", "ends_on": "2027-02-05"}),
         BOTH_403),
    Case("GET", "/api/v1/auditors/{auditor_id:uuid}/leave",
         lambda w, who: who.get(f"/api/v1/auditors/{auditor_id(w)}/leave"), BOTH_403),
    Case("DELETE", "/api/v1/auditors/{auditor_id:uuid}/leave/{leave_id:uuid}",
         lambda w, who: who.delete(f"/api/v1/auditors/{auditor_id(w)}/leave/{a_leave_id(w)}"), BOTH_403),
    Case("POST", "/api/v1/auditor-conflicts", lambda w, who: who.post("/api/v1/auditor-conflicts", json={
        "provider_id": b(w), "auditor_id": auditor_id(w), "reason": "x"}), BOTH_403,
         snapshot=b_conflicts_as_admin_see_them, note="a conflict with B"),
    Case("GET", "/api/v1/auditor-conflicts", lambda w, who: (b_conflict_id(w), who.get(
        "/api/v1/auditor-conflicts"))[1], BOTH_403),
    Case("POST", "/api/v1/auditor-conflicts/{conflict_id:uuid}/withdraw",
         lambda w, who: who.post(f"/api/v1/auditor-conflicts/{b_conflict_id(w)}/withdraw"), BOTH_403,
         snapshot=b_conflicts_as_admin_see_them),
]


# --- scores: a provider's people see their own provider's; aggregates are the agency's and governance's ---


CASES += [
    Case("GET", "/api/v1/providers/{provider_id:uuid}/scores",
         lambda w, who: who.get(f"/api/v1/providers/{b(w)}/scores"), BOTH_404),
    Case("GET", "/api/v1/providers/{provider_id:uuid}/scores",
         lambda w, who: who.get(f"/api/v1/providers/{w.provider_a['id']}/scores"), BOTH_LIST, own=own_provider,
         note="their own provider's"),
    Case("GET", "/api/v1/scores", lambda w, who: who.get("/api/v1/scores", params={"dimension": "region"}),
         BOTH_403),
]


# --- the quarterly report: the agency's and governance's, never a provider's people's ---


CASES += [
    Case("GET", "/api/v1/reports/quarterly/{quarter:str}",
         lambda w, who: who.get("/api/v1/reports/quarterly/2025-Q3"), BOTH_403),
    Case("GET", "/api/v1/reports/quarterly/{quarter:str}/workbook",
         lambda w, who: who.get("/api/v1/reports/quarterly/2025-Q3/workbook"), BOTH_403),
]
