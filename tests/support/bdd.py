"""Helpers the journeys' step bindings (tests/bdd/) share: the people in the features' own words, a
browser-like session, and what a scenario has seen so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.support.http import Browser, sign_in  # noqa: F401  (steps import them from here)
from tests.support.world import PASSWORD  # noqa: F401  (every person in ``world`` has it)

# How the features name people -> the key of that person in ``world``.
PEOPLE = {
    "system owner": "admin",
    "partnerships officer": "partnerships",
    "auditor": "auditor",
    "governance member": "governance",
    "privacy lead at provider A": "provider_admin",
    "staff member at provider A": "provider_user",
    "privacy lead at provider B": "b_admin",
    "staff member at provider B": "b_user",
}

PROVIDER_NAMES = {"A": "Provider A Trust", "B": "Provider B Trust"}


def person_key(phrase: str) -> str:
    try:
        return PEOPLE[phrase]
    except KeyError:
        raise AssertionError(f"no person called {phrase!r} in the journeys; known: {sorted(PEOPLE)}") from None


def provider_of(world, letter: str) -> dict[str, Any]:
    return {"A": world.provider_a, "B": world.provider_b}[letter]


def person_of(world, phrase: str):
    """The person the feature names, as an ``Api`` (bearer token)."""
    return world.people[person_key(phrase)]


def email_of(world, phrase: str) -> str:
    return world.people[person_key(phrase)].user["email"]


@dataclass
class Journey:
    """What one scenario has seen so far."""

    response: Any = None
    browsers: dict[str, Browser] = field(default_factory=dict)
    actor: str | None = None
    provider: dict[str, Any] | None = None


def provider_names(response) -> list[str]:
    """The names in a listing of providers."""
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


# --- devices, as the device journeys (assignment, a lost phone) handle them ---------------------------


def device_now(world, devices: dict[str, Any], tag: str) -> dict[str, Any]:
    """The device as the agency sees it now."""
    r = world.partnerships.get(f"/api/v1/devices/{devices[tag]['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def register_device(world, devices: dict[str, Any], tag: str, kind: str) -> None:
    r = world.partnerships.post("/api/v1/devices", json={
        "asset_tag": tag, "kind": kind, "make": "Lenovo" if kind == "laptop" else "Samsung",
        "model": "ThinkPad T14" if kind == "laptop" else "Galaxy A55", "encrypted": True, "mdm_enrolled": True})
    assert r.status_code == 201, r.text
    devices[tag] = r.json()


def check_out(world, devices: dict[str, Any], journey: Journey, tag: str, name: str, letter: str,
              purpose: str) -> None:
    journey.response = world.partnerships.post(f"/api/v1/devices/{devices[tag]['id']}/check-out", json={
        "provider_id": str(provider_of(world, letter)["id"]), "holder_name": name,
        "holder_email": name.lower().replace(" ", ".") + "@provider.example", "holder_phone": "021 555 0142",
        "holder_role": "Whānau support worker", "purpose": purpose, "systems": ["Case management", "Email"],
        "starts_on": date.today().isoformat(), "expected_return_on": (date.today() + timedelta(days=90)).isoformat(),
    })
    if journey.response.status_code == 201:
        devices[f"assignment:{tag}"] = journey.response.json()
