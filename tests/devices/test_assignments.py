"""Checking devices out and in, transfers, the one-open-assignment rule under a crowd, and exceptions."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from uuid import UUID

import msgspec
import pytest

from partner_audit import db
from partner_audit.devices.schemas import CheckIn, CheckOut, Transfer
from partner_audit.devices.services import assignments
from partner_audit.devices.tables import Assignment
from partner_audit.errors import Conflict, DomainError, Invalid
from partner_audit.security.caller import Caller, Role
from tests.support.devices import checked_out, holder, new_device
from tests.support.problems import is_problem

TODAY = date.today()


def partnerships_caller(world) -> Caller:
    user = world.partnerships.user
    return Caller(UUID(str(user["id"])), user["email"], Role.partnerships, None)


def check_in_body(**fields) -> dict:
    return {"returned_on": TODAY.isoformat(), "condition": "Good, charger included", "data_wiped": True,
            "wiped_by": "IT service desk", **fields}


def open_assignments(run, device_id) -> list[dict]:
    return run(lambda: Assignment.select().where(Assignment.open_device == device_id).run())


def test_check_out_and_check_in(world):
    device = new_device(world.partnerships, "LT-0001")
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out",
                                json=holder(world.provider_a, "Aroha Ngata", holder_email="Aroha@Provider.Example"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["holder_email"] == "aroha@provider.example" and out["systems"] == ["Case management", "Email"]
    assert out["open"] is True and out["returned_on"] is None and out["provider_name"] == "Provider A Trust"
    assert out["asset_tag"] == "LT-0001" and out["return_overdue"] is False
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"

    url = f"/api/v1/devices/{device['id']}/check-in"
    r = world.partnerships.post(url, json=check_in_body(wiped_by=" "))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "wiped_by"
    r = world.partnerships.post(url, json=check_in_body(returned_on=(TODAY - timedelta(days=1)).isoformat()))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "returned_on"
    r = world.partnerships.post(url, json=check_in_body(returned_on=(TODAY + timedelta(days=5)).isoformat()))
    assert r.status_code == 422 and "future" in r.json()["errors"][0]["message"]
    r = world.partnerships.post(url, json={"returned_on": TODAY.isoformat(), "condition": "Good"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "data_wiped"
    assert world.provider_admin.post(url, json=check_in_body()).status_code == 403

    r = world.partnerships.post(url, json=check_in_body())
    assert r.status_code == 200, r.text
    back = r.json()
    assert back["id"] == out["id"] and back["open"] is False and back["closed_at"] is not None
    assert (back["returned_on"], back["return_condition"], back["data_wiped"], back["wiped_by"]) == (
        TODAY.isoformat(), "Good, charger included", True, "IT service desk")
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "in_stock"

    r = world.partnerships.post(url, json=check_in_body())
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "status"

    # Not wiped is a valid answer, recorded as such; the device may go to repair instead of the shelf.
    world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json=holder(world.provider_a))
    r = world.partnerships.post(url, json=check_in_body(data_wiped=False, wiped_by="", condition="Cracked screen",
                                                         device_status="in_repair"))
    assert r.status_code == 200 and r.json()["data_wiped"] is False
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "in_repair"


@pytest.mark.parametrize("status", ["in_repair", "retired"])
def test_a_device_not_in_stock_cannot_go_out(world, status):
    device = new_device(world.partnerships, "LT-0002")
    world.partnerships.post(f"/api/v1/devices/{device['id']}/status", json={"status": status, "reason": "x"})
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json=holder(world.provider_a))
    assert r.status_code == 409 and is_problem(r)
    assert r.json()["errors"] == [{"field": "status", "message": f"is {status}"}]
    assert status in r.json()["detail"]


def test_check_out_rules(world):
    device = new_device(world.partnerships, "LT-0003")
    url = f"/api/v1/devices/{device['id']}/check-out"
    body = holder(world.provider_a, expected_return_on=(TODAY - timedelta(days=1)).isoformat())
    r = world.partnerships.post(url, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expected_return_on"
    r = world.partnerships.post(url, json=holder({"id": "00000000-0000-4000-8000-000000000000"}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "provider_id"
    r = world.partnerships.post(url, json=holder(world.provider_a, holder_email="not an email"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "holder_email"
    r = world.partnerships.post(url, json={**holder(world.provider_a), "salary": 1})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "salary"

    world.partnerships.post(f"/api/v1/providers/{world.provider_b['id']}/status",
                            json={"status": "exited", "reason": "Contract ended"})
    r = world.partnerships.post(url, json=holder(world.provider_b))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "provider_id"
    assert "exited" in r.json()["errors"][0]["message"]
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "in_stock"


def _twenty_check_outs(world, run, device_id: str) -> list:
    caller = partnerships_caller(world)
    bodies = [msgspec.convert(holder(world.provider_a, f"Holder {i}"), CheckOut) for i in range(20)]

    async def crowd():
        return await asyncio.gather(*(assignments.check_out(caller, UUID(device_id), b) for b in bodies),
                                    return_exceptions=True)

    return run(crowd)


def test_twenty_simultaneous_check_outs_give_one_success(world, run):
    """Twenty service calls at once on the app's loop (SQLite and PostgreSQL): one wins, nineteen clear 409s."""
    device = new_device(world.partnerships, "LT-0020")
    results = _twenty_check_outs(world, run, device["id"])
    successes = [r for r in results if isinstance(r, dict)]
    refusals = [r for r in results if isinstance(r, Conflict)]
    assert len(successes) == 1 and len(refusals) == 19, results
    assert all(r.status_code == 409 and r.errors == [{"field": "status", "message": "is assigned"}]
               for r in refusals)
    (row,) = open_assignments(run, device["id"])
    assert str(row["id"]) == str(successes[0]["id"])
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"


def test_twenty_simultaneous_check_outs_over_http(world, run):
    device = new_device(world.partnerships, "LT-0021")
    url = f"/api/v1/devices/{device['id']}/check-out"
    bodies = [holder(world.provider_a, f"Holder {i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda body: world.partnerships.post(url, json=body), bodies))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    assert all(is_problem(r) and
               r.json()["errors"][0]["field"] == "status" for r in responses if r.status_code == 409)
    assert len(open_assignments(run, device["id"])) == 1


def test_the_database_itself_refuses_a_second_open_assignment(world, run):
    """Even a write that skips the service's check cannot open a second assignment of one device."""
    device, first = checked_out(world, "LT-0022", world.provider_a)
    second = Assignment(device=device["id"], open_device=device["id"], provider=world.provider_a["id"],
                        holder_name="Sneaky", holder_email="s@example.org", starts_on=TODAY)
    with pytest.raises(Exception) as raised:
        run(lambda: second.save().run())
    assert db.is_unique_violation(raised.value)
    assert [str(r["id"]) for r in open_assignments(run, device["id"])] == [first["id"]]


def test_transfer_is_check_in_and_check_out_in_one_step(world, run):
    device, first = checked_out(world, "LT-0030", world.provider_a, "Aroha Ngata")
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/transfer", json={
        "check_in": check_in_body(), "check_out": holder(world.provider_b, "Wiremu Rangi")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["returned"]["id"] == first["id"] and body["returned"]["open"] is False
    assert body["returned"]["data_wiped"] is True
    assert body["assignment"]["holder_name"] == "Wiremu Rangi" and body["assignment"]["open"] is True
    assert str(body["assignment"]["provider_id"]) == str(world.provider_b["id"])
    (row,) = open_assignments(run, device["id"])
    assert str(row["id"]) == body["assignment"]["id"]
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"


def test_a_failing_transfer_leaves_the_device_with_its_holder(world, run):
    device, first = checked_out(world, "LT-0031", world.provider_a, "Aroha Ngata")
    world.partnerships.post(f"/api/v1/providers/{world.provider_b['id']}/status",
                            json={"status": "exited", "reason": "Contract ended"})
    url = f"/api/v1/devices/{device['id']}/transfer"
    # The check-in is valid and is written first; the check-out to an exited provider is refused after it.
    r = world.partnerships.post(url, json={"check_in": check_in_body(), "check_out": holder(world.provider_b)})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "check_out.provider_id"
    r = world.partnerships.post(url, json={"check_in": check_in_body(wiped_by=""),
                                           "check_out": holder(world.provider_a, "Next Person")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "check_in.wiped_by"
    r = world.partnerships.post(url, json={"check_in": check_in_body(device_status="in_repair"),
                                           "check_out": holder(world.provider_a, "Next Person")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "check_in.device_status"

    after = world.partnerships.get(f"/api/v1/assignments/{first['id']}").json()
    assert after["open"] is True and after["returned_on"] is None and after["data_wiped"] is None
    assert [str(r["id"]) for r in open_assignments(run, device["id"])] == [first["id"]]
    assert world.admin.get(f"/api/v1/devices/{device['id']}").json()["status"] == "assigned"
    assert world.admin.get("/api/v1/assignments", params={"device_id": device["id"]}).json()["total"] == 1


def test_a_failing_transfer_without_http(world, run):
    device, first = checked_out(world, "LT-0032", world.provider_a)
    caller = partnerships_caller(world)
    data = Transfer(check_in=msgspec.convert(check_in_body(), CheckIn),
                    check_out=msgspec.convert(holder({"id": "00000000-0000-4000-8000-000000000000"}), CheckOut))
    with pytest.raises(Invalid) as raised:
        run(lambda: assignments.transfer(caller, UUID(device["id"]), data))
    assert raised.value.errors[0]["field"] == "check_out.provider_id"
    assert [str(r["id"]) for r in open_assignments(run, device["id"])] == [first["id"]]
    with pytest.raises(DomainError) as raised:
        run(lambda: assignments.check_in(caller, UUID(device["id"]), msgspec.convert(
            check_in_body(returned_on="2001-01-01"), CheckIn)))
    assert raised.value.errors[0]["field"] == "returned_on"


def test_exceptions_list_exited_providers_and_overdue_returns(world):
    overdue_device, overdue = checked_out(
        world, "LT-0040", world.provider_a, "Late Returner",
        starts_on=(TODAY - timedelta(days=100)).isoformat(), expected_return_on=(TODAY - timedelta(days=10)).isoformat())
    _, at_b = checked_out(world, "LT-0041", world.provider_b, "Wiremu Rangi")
    _, fine = checked_out(world, "LT-0042", world.provider_a, "On Time")
    returned_device, _ = checked_out(world, "LT-0043", world.provider_b, "Gave It Back")
    world.partnerships.post(f"/api/v1/devices/{returned_device['id']}/check-in", json=check_in_body())

    assert world.partnerships.get("/api/v1/assignments/exceptions").json()["total"] == 1
    world.partnerships.post(f"/api/v1/providers/{world.provider_b['id']}/status",
                            json={"status": "exited", "reason": "Contract ended"})
    listing = world.partnerships.get("/api/v1/assignments/exceptions").json()
    assert listing["total"] == 2
    reasons = {item["id"]: item["reasons"] for item in listing["items"]}
    assert reasons == {overdue["id"]: ["return_overdue"], at_b["id"]: ["provider_exited"]}
    assert fine["id"] not in reasons

    mine = world.provider_admin.get("/api/v1/assignments/exceptions").json()
    assert [i["id"] for i in mine["items"]] == [overdue["id"]] and mine["items"][0]["holder_name"] == "Late Returner"
    theirs = world.provider_user.get("/api/v1/assignments/exceptions").json()
    assert theirs["items"][0]["holder_name"] is None
    assert world.governance.get("/api/v1/assignments/exceptions").status_code == 403
    assert world.admin.get(f"/api/v1/devices/{overdue_device['id']}").json()["current_assignment"][
        "return_overdue"] is True


def test_assignment_list_filters(world):
    device, first = checked_out(world, "LT-0050", world.provider_a, "First Holder")
    world.partnerships.post(f"/api/v1/devices/{device['id']}/transfer", json={
        "check_in": check_in_body(), "check_out": holder(world.provider_b, "Second Holder")})
    checked_out(world, "LT-0051", world.provider_a, "Other Device")
    get = world.partnerships.get
    assert get("/api/v1/assignments").json()["total"] == 3
    assert get("/api/v1/assignments", params={"device_id": device["id"]}).json()["total"] == 2
    closed = get("/api/v1/assignments", params={"open": "false"}).json()
    assert [i["id"] for i in closed["items"]] == [first["id"]]
    at_b = get("/api/v1/assignments", params={"provider_id": str(world.provider_b["id"])}).json()
    assert [i["holder_name"] for i in at_b["items"]] == ["Second Holder"]
    assert world.provider_admin.get("/api/v1/assignments",
                                    params={"provider_id": str(world.provider_b["id"])}).json()["total"] == 0
