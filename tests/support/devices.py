"""Devices to test with: made, checked out to a holder at a provider, and the register imported from a file.

Helpers only: ``from tests.support.devices import checked_out, holder, new_device``.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook


def new_device(api, tag: str, **fields: Any) -> dict[str, Any]:
    r = api.post("/api/v1/devices", json={"asset_tag": tag, "kind": fields.pop("kind", "laptop"), **fields})
    assert r.status_code == 201, r.text
    return r.json()


def holder(provider: dict[str, Any], name: str = "Mere Tawhiri", **fields: Any) -> dict[str, Any]:
    """A check-out body for a person at ``provider``."""
    return {
        "provider_id": str(provider["id"]), "holder_name": name,
        "holder_email": fields.pop("holder_email", name.lower().replace(" ", ".") + "@provider.example"),
        "holder_phone": "021 555 0101", "holder_role": "Social worker", "purpose": "Case notes on home visits",
        "systems": ["Case management", "Email"], "starts_on": date.today().isoformat(),
        "expected_return_on": (date.today() + timedelta(days=90)).isoformat(), **fields,
    }


def checked_out(world, tag: str, provider: dict[str, Any], name: str = "Mere Tawhiri", **fields: Any):
    device = new_device(world.partnerships, tag, kind=fields.pop("kind", "laptop"))
    r = world.partnerships.post(f"/api/v1/devices/{device['id']}/check-out", json=holder(provider, name, **fields))
    assert r.status_code == 201, r.text
    return device, r.json()


# --- the register, imported from .xlsx and .csv files -------------------------------------------------


def xlsx_file(headers: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_file(lines: list[str], bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def import_file(api, content: bytes, name: str = "register.xlsx", dry_run: bool = False, **params: str):
    return api.post("/api/v1/devices/import", params={"dry_run": str(dry_run).lower(), **params},
                    files={"file": (name, content, "application/octet-stream")})


def devices(world) -> dict[str, dict[str, Any]]:
    items = world.admin.get("/api/v1/devices", params={"page_size": 200}).json()["items"]
    return {d["asset_tag"]: d for d in items}


# --- breach assessments ---------------------------------------------------------------------------------


# The Privacy Act 2020 s 113 matters, recorded before deciding whether serious harm is likely.
S113_MATTERS = {
    "harm_reduction_action": "Phone locked and wiped through MDM within the hour; client contacts reset",
    "information_sensitivity": "Client names and phone numbers; case notes about family harm",
    "nature_of_harm": "Clients could be found or contacted by someone who means them harm",
    "recipients": "Unknown: whoever found the phone on the bus",
    "security_protection": "Six-digit passcode and encrypted storage; the MDM wipe is confirmed",
}
