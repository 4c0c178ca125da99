"""The providers registry over HTTP, and its rules called directly: NZBNs, contract dates, statuses, roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.problems import problem
from tests.support.world import PASSWORD, register_provider, World
from partner_audit.demo import demo_nzbn
from partner_audit.errors import Invalid
from partner_audit.providers import service
from partner_audit.providers.schemas import ProviderKind, ProviderStatus, Region
from partner_audit.security.caller import Caller

PROVIDERS = "/api/v1/providers"


def new_provider(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Kahu Whānau Services", "nzbn": demo_nzbn(501), "kind": "iwi_maori", "region": "Northland",
            "risk_tier": 1, "contract_reference": "OT-2025-0501", "contract_start": "2025-07-01",
            "contract_end": "2027-06-30"}
    return {**body, **overrides}


def names(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [p["name"] for p in r.json()["items"]]


def set_status(world: World, provider_id: Any, status: str):
    return world.partnerships.post(f"{PROVIDERS}/{provider_id}/status", json={"status": status, "reason": "test"})


# --- create, read, update ----------------------------------------------------------------------------


def test_registering_a_provider_starts_it_onboarding(world: World):
    r = world.partnerships.post(PROVIDERS, json=new_provider())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "onboarding"
    assert {k: created[k] for k in new_provider()} == new_provider()

    r = world.auditor.get(f"{PROVIDERS}/{created['id']}")
    assert r.status_code == 200, r.text
    assert r.json() == created


def test_reading_a_provider_that_does_not_exist_is_404(world: World):
    problem(world.admin.get(f"{PROVIDERS}/00000000-0000-4000-8000-000000000000"), 404)


def test_update_changes_only_the_fields_sent(world: World):
    before = world.admin.get(f"{PROVIDERS}/{world.provider_a['id']}").json()
    r = world.partnerships.patch(f"{PROVIDERS}/{world.provider_a['id']}", json={"risk_tier": 1, "region": "Otago"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["risk_tier"], after["region"]) == (1, "Otago")
    unchanged = {k: v for k, v in before.items() if k not in {"risk_tier", "region", "updated_at"}}
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["updated_at"] >= before["updated_at"]
    assert world.admin.get(f"{PROVIDERS}/{world.provider_a['id']}").json() == after


def test_update_can_clear_an_optional_field(world: World):
    created = world.admin.post(PROVIDERS, json=new_provider()).json()
    r = world.admin.patch(f"{PROVIDERS}/{created['id']}", json={"contract_reference": None, "contract_end": None})
    assert r.status_code == 200, r.text
    assert (r.json()["contract_reference"], r.json()["contract_end"]) == (None, None)
    assert r.json()["contract_start"] == "2025-07-01"


def test_a_provider_records_the_anniversary_day_it_observes(world: World):
    """Waikato has no anniversary day of its own: a provider there says which it observes, or leaves it to the
    region's usual day (None); a day that is not one is 400 naming the field."""
    r = world.partnerships.post(PROVIDERS, json=new_provider(region="Waikato", anniversary_day="wellington"))
    assert r.status_code == 201, r.text
    assert r.json()["anniversary_day"] == "wellington"
    assert world.auditor.get(f"{PROVIDERS}/{r.json()['id']}").json()["anniversary_day"] == "wellington"
    changed = world.partnerships.patch(f"{PROVIDERS}/{r.json()['id']}", json={"anniversary_day": "auckland"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["anniversary_day"] == "auckland"
    cleared = world.partnerships.patch(f"{PROVIDERS}/{r.json()['id']}", json={"anniversary_day": None})
    assert cleared.json()["anniversary_day"] is None and cleared.json()["region"] == "Waikato"
    assert world.admin.get(f"{PROVIDERS}/{world.provider_a['id']}").json()["anniversary_day"] is None
    problem(world.partnerships.patch(f"{PROVIDERS}/{r.json()['id']}", json={"anniversary_day": "waikato"}), 400,
            "anniversary_day")


# --- list: filters, sorting, pages -------------------------------------------------------------------


@pytest.fixture
def registry(world: World) -> World:
    """Besides A and B (NGOs in Wellington, tier 2, onboarding): four more, of every kind and tier."""
    run = world.run
    register_provider(run, "Te Rūnanga o Ngāti Ora", 11, kind=ProviderKind.iwi_maori, region=Region.northland,
                      risk_tier=1)
    register_provider(run, "Harbour IT Contracting Ltd", 12, kind=ProviderKind.contractor, region=Region.auckland,
                      risk_tier=3)
    active = register_provider(run, "Canterbury Family Trust", 13, region=Region.canterbury, risk_tier=1)
    register_provider(run, "Otago Counselling", 14, kind=ProviderKind.other, region=Region.otago, risk_tier=3)
    assert set_status(world, active["id"], "active").status_code == 200
    return world


@pytest.mark.parametrize(("params", "expected"), [
    ({"risk_tier": 1}, ["Canterbury Family Trust", "Te Rūnanga o Ngāti Ora"]),
    ({"risk_tier": 3}, ["Harbour IT Contracting Ltd", "Otago Counselling"]),
    ({"region": "Wellington"}, ["Provider A Trust", "Provider B Trust"]),
    ({"region": "Hawke's Bay"}, []),
    ({"kind": "contractor"}, ["Harbour IT Contracting Ltd"]),
    ({"status": "active"}, ["Canterbury Family Trust"]),
    ({"q": "TRUST"}, ["Canterbury Family Trust", "Provider A Trust", "Provider B Trust"]),
    ({"q": "ngāti"}, ["Te Rūnanga o Ngāti Ora"]),
    ({"q": "trust", "risk_tier": 2}, ["Provider A Trust", "Provider B Trust"]),
    ({"kind": "ngo", "status": "onboarding"}, ["Provider A Trust", "Provider B Trust"]),
], ids=lambda v: str(v))
def test_list_filters(registry: World, params: dict[str, Any], expected: list[str]):
    r = registry.auditor.get(PROVIDERS, params=params)
    assert names(r) == expected
    assert r.json()["total"] == len(expected)


@pytest.mark.parametrize(("sort", "expected"), [
    ("name", ["Canterbury Family Trust", "Harbour IT Contracting Ltd", "Otago Counselling", "Provider A Trust",
              "Provider B Trust", "Te Rūnanga o Ngāti Ora"]),
    ("-name", ["Te Rūnanga o Ngāti Ora", "Provider B Trust", "Provider A Trust", "Otago Counselling",
               "Harbour IT Contracting Ltd", "Canterbury Family Trust"]),
])
def test_list_sorts_by_name(registry: World, sort: str, expected: list[str]):
    assert names(registry.admin.get(PROVIDERS, params={"sort": sort})) == expected


def test_list_sorts_by_risk_tier(registry: World):
    tiers = [p["risk_tier"] for p in registry.admin.get(PROVIDERS, params={"sort": "risk_tier"}).json()["items"]]
    assert tiers == [1, 1, 2, 2, 3, 3]
    tiers = [p["risk_tier"] for p in registry.admin.get(PROVIDERS, params={"sort": "-risk_tier"}).json()["items"]]
    assert tiers == [3, 3, 2, 2, 1, 1]


def test_list_pages_with_the_total(registry: World):
    seen = []
    for page in (1, 2, 3):
        r = registry.admin.get(PROVIDERS, params={"page": page, "page_size": 2, "sort": "name"})
        body = r.json()
        assert (body["total"], body["page"], body["page_size"], len(body["items"])) == (6, page, 2, 2)
        seen += names(r)
    assert seen == names(registry.admin.get(PROVIDERS, params={"sort": "name"}))
    past_the_end = registry.admin.get(PROVIDERS, params={"page": 4, "page_size": 2}).json()
    assert (past_the_end["items"], past_the_end["total"]) == ([], 6)


# --- status ------------------------------------------------------------------------------------------


def test_status_moves_along_the_allowed_paths(world: World):
    pid = world.provider_a["id"]
    for status in ("active", "suspended", "active", "exited"):
        r = set_status(world, pid, status)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status


@pytest.mark.parametrize(("path", "refused"), [
    (["active"], "onboarding"),
    (["suspended"], "onboarding"),
    (["exited"], "active"),
    (["exited"], "suspended"),
    (["exited"], "onboarding"),
])
def test_status_refuses_other_moves_naming_status(world: World, path: list[str], refused: str):
    pid = world.provider_a["id"]
    for status in path:
        assert set_status(world, pid, status).status_code == 200
    body = problem(set_status(world, pid, refused), 422, "status")
    assert path[-1] in body["detail"] and refused in body["detail"]
    assert world.admin.get(f"{PROVIDERS}/{pid}").json()["status"] == path[-1]


def test_setting_the_current_status_again_changes_nothing(world: World):
    before = world.admin.get(f"{PROVIDERS}/{world.provider_a['id']}").json()
    r = set_status(world, world.provider_a["id"], "onboarding")
    assert r.status_code == 200, r.text
    assert r.json() == before


# --- NZBN and contract dates -------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["9429000005012", "942 9000 005 012", "9429-0000-05012", " 9429000005012 "])
def test_nzbn_as_people_type_it_is_stored_as_13_digits(world: World, typed: str):
    assert demo_nzbn(501) == "9429000005012"  # the values above are typed from this valid number
    r = world.admin.post(PROVIDERS, json=new_provider(nzbn=typed))
    assert r.status_code == 201, r.text
    assert r.json()["nzbn"] == "9429000005012"


@pytest.mark.parametrize("bad", ["9429000005013", "942900000501", "94290000050122", "9429OOOOO5012", "abc"])
def test_a_bad_nzbn_is_422_naming_nzbn(world: World, bad: str):
    problem(world.admin.post(PROVIDERS, json=new_provider(nzbn=bad)), 422, "nzbn")
    problem(world.admin.patch(f"{PROVIDERS}/{world.provider_a['id']}", json={"nzbn": bad}), 422, "nzbn")
    assert world.admin.get(PROVIDERS).json()["total"] == 2


def test_a_wrong_check_digit_says_which_digit_is_right(world: World):
    body = problem(world.admin.post(PROVIDERS, json=new_provider(nzbn="9429000005013")), 422, "nzbn")
    assert "should be 2" in body["detail"]


def test_a_duplicate_nzbn_is_409_naming_nzbn(world: World):
    taken = world.provider_b["nzbn"]
    spaced = f"{taken[:4]} {taken[4:8]} {taken[8:]}"
    problem(world.admin.post(PROVIDERS, json=new_provider(nzbn=spaced)), 409, "nzbn")
    problem(world.admin.patch(f"{PROVIDERS}/{world.provider_a['id']}", json={"nzbn": taken}), 409, "nzbn")
    assert world.admin.get(f"{PROVIDERS}/{world.provider_a['id']}").json()["nzbn"] == world.provider_a["nzbn"]
    # Sending a provider's own NZBN back is not a clash with itself.
    r = world.admin.patch(f"{PROVIDERS}/{world.provider_a['id']}", json={"nzbn": world.provider_a["nzbn"]})
    assert r.status_code == 200, r.text


def test_contract_end_before_start_is_422(world: World):
    problem(world.admin.post(PROVIDERS, json=new_provider(contract_start="2026-07-01", contract_end="2026-06-30")),
            422, "contract_end")
    created = world.admin.post(PROVIDERS, json=new_provider()).json()
    # Only one date sent: checked against the other as stored.
    problem(world.admin.patch(f"{PROVIDERS}/{created['id']}", json={"contract_start": "2028-01-01"}),
            422, "contract_end")
    assert world.admin.get(f"{PROVIDERS}/{created['id']}").json()["contract_start"] == "2025-07-01"
    r = world.admin.post(PROVIDERS, json=new_provider(nzbn=demo_nzbn(502), contract_start="2026-07-01",
                                                      contract_end="2026-07-01"))
    assert r.status_code == 201, r.text


# --- who may do what ---------------------------------------------------------------------------------


def test_auditors_read_but_do_not_write(world: World):
    pid = world.provider_a["id"]
    assert world.auditor.get(PROVIDERS).json()["total"] == 2
    assert world.auditor.get(f"{PROVIDERS}/{pid}").status_code == 200
    problem(world.auditor.post(PROVIDERS, json=new_provider()), 403)
    problem(world.auditor.patch(f"{PROVIDERS}/{pid}", json={"risk_tier": 1}), 403)
    problem(world.auditor.post(f"{PROVIDERS}/{pid}/status", json={"status": "active", "reason": "x"}), 403)
    assert world.admin.get(f"{PROVIDERS}/{pid}").json() == world.auditor.get(f"{PROVIDERS}/{pid}").json()
    assert world.admin.get(f"{PROVIDERS}/{pid}").json()["risk_tier"] == 2


def test_governance_sees_no_provider_records(world: World):
    problem(world.governance.get(PROVIDERS), 403)
    problem(world.governance.get(f"{PROVIDERS}/{world.provider_a['id']}"), 403)
    problem(world.governance.post(PROVIDERS, json=new_provider()), 403)


def test_provider_people_read_their_own_provider_but_do_not_edit_it(world: World):
    pid = world.provider_a["id"]
    assert world.provider_admin.get(f"{PROVIDERS}/{pid}").status_code == 200
    problem(world.provider_admin.patch(f"{PROVIDERS}/{pid}", json={"risk_tier": 3}), 403)
    problem(world.provider_admin.post(f"{PROVIDERS}/{pid}/status", json={"status": "active", "reason": "x"}), 403)


def test_nobody_signed_in_is_401(world: World):
    problem(world.client.get(PROVIDERS), 401)


# --- a provider's status decides whether its people get in -------------------------------------------


@pytest.mark.parametrize("blocked", ["suspended", "exited"])
def test_a_blocked_providers_people_are_turned_away_on_their_next_request(world: World, blocked: str):
    for person in (world.provider_user, world.provider_admin):
        assert person.get("/api/v1/me").status_code == 200
    assert set_status(world, world.provider_a["id"], "active").status_code == 200
    assert set_status(world, world.provider_a["id"], blocked).status_code == 200

    for person in (world.provider_user, world.provider_admin):
        body = problem(person.get("/api/v1/me"), 401)
        assert blocked in body["detail"]
    problem(world.client.post("/api/v1/auth/login", json={"email": world.provider_user.user["email"],
                                                         "password": PASSWORD}), 401)
    # Provider B's people and the agency carry on.
    assert world.b_user.get("/api/v1/me").status_code == 200
    assert world.auditor.get(f"{PROVIDERS}/{world.provider_a['id']}").json()["status"] == blocked

    back = set_status(world, world.provider_a["id"], "active")
    if blocked == "exited":
        problem(back, 422, "status")
        problem(world.provider_user.get("/api/v1/me"), 401)
    else:
        assert back.status_code == 200, back.text
        for person in (world.provider_user, world.provider_admin):
            assert person.get("/api/v1/me").status_code == 200


# --- the service, without HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("9429000005012", "9429000005012"),
    ("9429 0000 05012", "9429000005012"),
    ("9429-000-005-012", "9429000005012"),
])
def test_normalise_nzbn_keeps_the_digits(typed: str, stored: str):
    assert service.normalise_nzbn(typed) == stored


@pytest.mark.parametrize(("typed", "says"), [
    ("9429000005010", "check digit"),
    ("942900000501", "13 digits"),
    ("9429.00005012", "13 digits"),
    ("", "13 digits"),
])
def test_normalise_nzbn_refuses_naming_nzbn(typed: str, says: str):
    with pytest.raises(Invalid) as refused:
        service.normalise_nzbn(typed)
    assert refused.value.errors[0]["field"] == "nzbn"
    assert says in refused.value.detail


def test_exited_is_final_in_the_service(world: World):
    system = Caller.system("test")
    pid = world.provider_a["id"]
    world.run(lambda: service.change_status(system, pid, ProviderStatus.exited, "contract ended"))
    for status in (ProviderStatus.active, ProviderStatus.onboarding, ProviderStatus.suspended):
        with pytest.raises(Invalid) as refused:
            world.run(lambda: service.change_status(system, pid, status, "try again"))
        assert refused.value.errors[0]["field"] == "status"
        assert "exited is final" in refused.value.detail
    assert world.run(lambda: service.get(system, pid))["status"] == "exited"
    assert service.TRANSITIONS[ProviderStatus.exited] == frozenset()
