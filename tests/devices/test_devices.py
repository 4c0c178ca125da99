"""The device register: devices, their status rules, the list (filters, sorting, paging, search), and who sees
a holder's details (each view of them in the access log)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from partner_audit.devices.schemas import DeviceStatus
from partner_audit.devices.services import register
from partner_audit.security.tables import AccessLogEntry
from tests.support.devices import checked_out, holder, new_device
from tests.support.problems import is_problem

S = DeviceStatus


def holder_reads(run, assignment_id: str) -> list[dict[str, Any]]:
    """The access-log entries recording who was shown this assignment's holder details."""
    return run(lambda: AccessLogEntry.select().where(
        AccessLogEntry.action == "assignment.holder_read", AccessLogEntry.record_id == str(assignment_id)
    ).order_by(AccessLogEntry.seq).run())


# --- devices ---------------------------------------------------------------------------------------


def test_register_read_and_update_a_device(world):
    device = new_device(world.partnerships, " LT-0001 ", serial="C02XK1", make="Apple", model="MacBook Air",
                        encrypted=True, mdm_enrolled=True, notes="Spare charger in the bag")
    assert device["asset_tag"] == "LT-0001" and device["status"] == "in_stock"
    assert device["encrypted"] is True and device["current_assignment"] is None
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["model"] == "MacBook Air"

    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": "LT-0001", "kind": "phone"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "asset_tag"
    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": "   ", "kind": "phone"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "asset_tag"
    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": "LT-0002", "kind": "toaster"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "kind"
    r = world.partnerships.post("/api/v1/devices", json={"asset_tag": "LT-0002", "kind": "phone", "status": "lost"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "status"

    other = new_device(world.partnerships, "LT-0002")
    r = world.partnerships.patch(f"/api/v1/devices/{other['id']}", json={"asset_tag": "LT-0001"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "asset_tag"
    r = world.partnerships.patch(f"/api/v1/devices/{other['id']}", json={"model": "ThinkPad X1", "mdm_enrolled": True})
    assert r.status_code == 200 and r.json()["model"] == "ThinkPad X1" and r.json()["mdm_enrolled"] is True
    assert r.json()["updated_at"] > other["updated_at"]

    assert world.provider_admin.post("/api/v1/devices", json={"asset_tag": "X", "kind": "phone"}).status_code == 403
    assert world.auditor.patch(f"/api/v1/devices/{other['id']}", json={"model": "x"}).status_code == 403
    r = world.admin.get("/api/v1/devices/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404 and is_problem(r)


def test_status_rules_without_http():
    assert register.status_refusal(S.in_stock, S.in_repair) is None
    assert register.status_refusal(S.in_repair, S.in_stock) is None
    assert register.status_refusal(S.lost, S.in_stock) is None  # found again
    assert register.status_refusal(S.stolen, S.retired) is None
    assert "checking the device out" in register.status_refusal(S.in_stock, S.assigned)
    assert "reporting an incident" in register.status_refusal(S.in_stock, S.lost)
    assert "reporting an incident" in register.status_refusal(S.in_stock, S.stolen)
    assert "retired is final" in register.status_refusal(S.retired, S.in_stock)
    assert "check it in first" in register.status_refusal(S.assigned, S.in_repair)


def test_status_changes_by_hand(world):
    device = new_device(world.partnerships, "LT-0010")
    url = f"/api/v1/devices/{device['id']}/status"
    r = world.partnerships.post(url, json={"status": "in_repair", "reason": "Cracked screen"})
    assert r.status_code == 200 and r.json()["status"] == "in_repair"
    for status in ("assigned", "lost", "stolen"):
        r = world.partnerships.post(url, json={"status": status, "reason": "x"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status", r.text
    assert world.partnerships.post(url, json={"status": "retired", "reason": "Beyond repair"}).json()["status"] == \
        "retired"
    r = world.partnerships.post(url, json={"status": "in_stock", "reason": "changed my mind"})
    assert r.status_code == 422 and "retired is final" in r.json()["errors"][0]["message"]

    held, _ = checked_out(world, "LT-0011", world.provider_a)
    r = world.partnerships.post(f"/api/v1/devices/{held['id']}/status", json={"status": "in_repair", "reason": "x"})
    assert r.status_code == 422 and "check it in first" in r.json()["detail"]
    assert world.admin.get(f"/api/v1/devices/{held['id']}").json()["status"] == "assigned"


def _tags(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["asset_tag"] for d in response.json()["items"]]


def test_list_filters_sorting_paging_and_search(world):
    new_device(world.partnerships, "LT-0001", serial="SN-AAA", model="MacBook Air", encrypted=True, mdm_enrolled=True)
    new_device(world.partnerships, "PH-0002", kind="phone", serial="SN-BBB", model="iPhone 15", encrypted=True)
    new_device(world.partnerships, "TB-0003", kind="tablet", serial="SN-CCC", model="iPad")
    checked_out(world, "LT-0004", world.provider_a, "Aroha Ngata", kind="laptop")
    checked_out(world, "PH-0005", world.provider_b, "Wiremu Rangi", kind="phone")
    get = world.partnerships.get

    assert _tags(get("/api/v1/devices")) == ["LT-0001", "LT-0004", "PH-0002", "PH-0005", "TB-0003"]
    assert _tags(get("/api/v1/devices", params={"sort": "-asset_tag"}))[0] == "TB-0003"
    assert _tags(get("/api/v1/devices", params={"status": "assigned"})) == ["LT-0004", "PH-0005"]
    assert _tags(get("/api/v1/devices", params={"kind": "phone"})) == ["PH-0002", "PH-0005"]
    assert _tags(get("/api/v1/devices", params={"encrypted": "true"})) == ["LT-0001", "PH-0002"]
    assert _tags(get("/api/v1/devices", params={"mdm_enrolled": "true"})) == ["LT-0001"]
    assert _tags(get("/api/v1/devices", params={"provider_id": str(world.provider_b["id"])})) == ["PH-0005"]
    assert _tags(get("/api/v1/devices", params={"q": "sn-bb"})) == ["PH-0002"]
    assert _tags(get("/api/v1/devices", params={"q": "ipad"})) == ["TB-0003"]
    assert _tags(get("/api/v1/devices", params={"q": "aroha"})) == ["LT-0004"]
    assert _tags(get("/api/v1/devices", params={"q": "100%_"})) == []

    page = get("/api/v1/devices", params={"page": 2, "page_size": 2}).json()
    assert [d["asset_tag"] for d in page["items"]] == ["PH-0002", "PH-0005"]
    assert (page["total"], page["page"], page["page_size"]) == (5, 2, 2)
    r = get("/api/v1/devices", params={"sort": "colour"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "sort"

    # Searching by a holder's name is for those who may see holders: it would tell anyone else who holds what.
    assert _tags(world.provider_admin.get("/api/v1/devices", params={"q": "aroha"})) == ["LT-0004"]
    assert _tags(world.provider_user.get("/api/v1/devices", params={"q": "aroha"})) == []
    assert _tags(world.auditor.get("/api/v1/devices", params={"q": "aroha"})) == []
    assert _tags(world.provider_admin.get("/api/v1/devices", params={"q": "wiremu"})) == []


# --- who sees what ----------------------------------------------------------------------------------


def test_each_role_sees_the_register_as_it_may(world, run):
    device, assignment = checked_out(world, "LT-0100", world.provider_a, "Aroha Ngata")
    new_device(world.partnerships, "LT-0101")  # in stock: the agency's, no provider's
    url = f"/api/v1/devices/{device['id']}"
    sees_holder = {"partnerships": True, "admin": True, "provider_admin": True, "provider_user": False,
                   "auditor": False}
    before = len(holder_reads(run, assignment["id"]))
    for role, visible in sees_holder.items():
        body = world.people[role].get(url).json()
        current = body["current_assignment"]
        assert current["id"] == assignment["id"] and current["holder_visible"] is visible, role
        if visible:
            assert (current["holder_name"], current["holder_email"], current["holder_phone"]) == (
                "Aroha Ngata", "aroha.ngata@provider.example", "021 555 0101"), role
        else:
            assert current["holder_name"] is current["holder_email"] is current["holder_phone"] is None, role
            assert "Aroha" not in world.people[role].get(url).text, role
        assert current["purpose"] == "Case notes on home visits"

    # Each response that showed the holder is in the access log, with the assignment and its provider.
    reads = holder_reads(run, assignment["id"])[before:]
    assert [(r["email"], r["provider_id"], r["detail"]) for r in reads] == [
        (world.people[role].user["email"], str(world.provider_a["id"]), "device.read")
        for role, visible in sees_holder.items() if visible]

    # A provider's people see what their provider holds, never the agency's stock or another provider's.
    assert _tags(world.provider_user.get("/api/v1/devices")) == ["LT-0100"]
    assert _tags(world.auditor.get("/api/v1/devices")) == ["LT-0100", "LT-0101"]
    assert _tags(world.b_admin.get("/api/v1/devices")) == []
    assert world.b_admin.get(url).status_code == 404 and world.b_user.get(url).status_code == 404
    assert world.governance.get(url).status_code == 403
    assert world.governance.get("/api/v1/devices").status_code == 403

    listing = world.provider_user.get("/api/v1/assignments").json()
    assert listing["total"] == 1 and listing["items"][0]["holder_name"] is None
    listing = world.provider_admin.get("/api/v1/assignments").json()
    assert listing["items"][0]["holder_email"] == "aroha.ngata@provider.example"
    assert holder_reads(run, assignment["id"])[-1]["detail"] == "assignment.list"
    assert world.b_admin.get(f"/api/v1/assignments/{assignment['id']}").status_code == 404


def test_history_shows_a_provider_only_its_own_holders(world, run):
    device, first = checked_out(world, "LT-0200", world.provider_b, "Wiremu Rangi")
    today = date.today().isoformat()
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/transfer", json={
        "check_in": {"returned_on": today, "condition": "Good", "data_wiped": True, "wiped_by": "IT desk"},
        "check_out": holder(world.provider_a, "Aroha Ngata"),
    })
    assert r.status_code == 200, r.text

    full = world.partnerships.get(f"/api/v1/devices/{device['id']}/history").json()
    assert [a["holder_name"] for a in full["assignments"]] == ["Aroha Ngata", "Wiremu Rangi"]
    assert [a["open"] for a in full["assignments"]] == [True, False]

    mine = world.provider_admin.get(f"/api/v1/devices/{device['id']}/history").json()
    assert [a["holder_name"] for a in mine["assignments"]] == ["Aroha Ngata"]
    assert "Wiremu" not in world.provider_admin.get(f"/api/v1/devices/{device['id']}/history").text
    assert world.b_admin.get(f"/api/v1/devices/{device['id']}/history").status_code == 404
    # B's past assignment is B's: its admin still reads it, but not A's current one.
    assert world.b_admin.get(f"/api/v1/assignments/{first['id']}").json()["holder_name"] == "Wiremu Rangi"
    assert holder_reads(run, first["id"])[-1]["email"] == world.b_admin.user["email"]


@pytest.mark.parametrize("role", ["auditor", "provider_user"])
def test_no_holder_details_means_no_holder_read_in_the_log(world, run, role):
    device, assignment = checked_out(world, "LT-0300", world.provider_a)
    before = len(holder_reads(run, assignment["id"]))
    for url in (f"/api/v1/devices/{device['id']}", f"/api/v1/devices/{device['id']}/history", "/api/v1/devices",
                "/api/v1/assignments", f"/api/v1/assignments/{assignment['id']}"):
        r = world.people[role].get(url)
        assert r.status_code == 200 and "Mere" not in r.text, (url, r.text)
    assert len(holder_reads(run, assignment["id"])) == before
