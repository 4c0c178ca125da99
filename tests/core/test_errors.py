"""Bad input through HTTP: always a 4xx problem document (RFC 9457) that names what was wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.problems import is_problem, problem
from tests.support.world import World
from partner_audit.demo import demo_nzbn

PROVIDERS = "/api/v1/providers"


def valid_provider(**overrides: Any) -> dict[str, Any]:
    return {"name": "Kahu Whānau Services", "nzbn": demo_nzbn(601), "kind": "ngo", "region": "Otago",
            "risk_tier": 2, **overrides}


def named_problem(r, status: int, field: str | None) -> dict[str, Any]:
    """A problem whose detail, not only its errors, names the field: people read the detail."""
    return problem(r, status, field, field_in_detail=True)


BAD_BODIES = [
    # (what, body, status, field named)
    ("unknown field", valid_provider(colour="teal"), 400, "colour"),
    ("wrong type", valid_provider(risk_tier="two"), 400, "risk_tier"),
    ("wrong type in a date", valid_provider(contract_start=20250701), 400, "contract_start"),
    ("not a date", valid_provider(contract_start="2025-02-30"), 400, "contract_start"),
    ("name over 200 characters", valid_provider(name="x" * 201), 400, "name"),
    ("empty name", valid_provider(name=""), 400, "name"),
    ("bad enum", valid_provider(kind="charity"), 400, "kind"),
    ("region not in New Zealand", valid_provider(region="Tasmania"), 400, "region"),
    ("tier out of range", valid_provider(risk_tier=4), 400, "risk_tier"),
    ("bad NZBN", valid_provider(nzbn="9429000006010"), 422, "nzbn"),
    ("missing required field", {k: v for k, v in valid_provider().items() if k != "region"}, 400, "region"),
    ("null for a required field", valid_provider(name=None), 400, "name"),
    ("not an object", ["a", "list"], 400, "body"),
]


@pytest.mark.parametrize(("body", "status", "field"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_a_bad_body_is_a_problem_naming_the_field(world: World, body: Any, status: int, field: str):
    named_problem(world.admin.post(PROVIDERS, json=body), status, field)
    assert world.admin.get(PROVIDERS).json()["total"] == 2  # nothing was saved


def test_an_unknown_field_in_a_partial_update_is_named(world: World):
    body = named_problem(world.admin.patch(f"{PROVIDERS}/{world.provider_a['id']}", json={"statuss": "active"}),
                          400, "statuss")
    assert "unknown" in body["detail"].lower()


@pytest.mark.parametrize("content", [b'{"name": "Kahu", ', b'{"name": Kahu}', b'{"name": "Kahu"} trailing',
                                     b'{"name": "\xff\xfe"}', b"\x00"], ids=["cut short", "bad syntax", "trailing",
                                                                        "not utf-8", "binary"])
def test_malformed_json_is_400(world: World, content: bytes):
    r = world.admin.post(PROVIDERS, content=content, headers={"Content-Type": "application/json"})
    body = named_problem(r, 400, "body")
    assert "JSON" in body["detail"]


@pytest.mark.parametrize(("params", "field"), [
    ({"page_size": 1000}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"page": "first"}, "page"),
    ({"risk_tier": 9}, "risk_tier"),
    ({"kind": "charity"}, "kind"),
    ({"sort": "colour"}, "sort"),
    ({"q": "x" * 101}, "q"),
], ids=lambda v: str(v) if isinstance(v, dict) else v)
def test_a_bad_query_parameter_is_400_naming_it(world: World, params: dict[str, Any], field: str):
    named_problem(world.admin.get(PROVIDERS, params=params), 400, field)


def test_a_bad_path_id_is_404(world: World):
    named_problem(world.admin.get(f"{PROVIDERS}/not-a-uuid"), 404, None)


def test_an_unknown_route_is_404(world: World):
    named_problem(world.admin.get("/api/v1/no-such-thing"), 404, None)
    named_problem(world.client.get("/api/v1/no-such-thing"), 404, None)


def test_every_404_has_the_same_title(world: World):
    """A path no route answers, a path that is not an id, and a record that is not there: one title."""
    titles = {problem(r, 404)["title"] for r in (
        world.admin.get("/api/v1/no-such-thing"), world.admin.get(f"{PROVIDERS}/not-a-uuid"),
        world.admin.get(f"{PROVIDERS}/00000000-0000-4000-8000-000000000000"))}
    assert titles == {"Not found"}
    assert "The API is under /api/v1" in problem(world.admin.get("/api/v1/no-such-thing"), 404)["detail"]


def test_a_wrong_method_is_405(world: World):
    named_problem(world.admin.delete(f"{PROVIDERS}/{world.provider_a['id']}"), 405, None)


def test_not_signed_in_is_401(world: World):
    body = named_problem(world.client.get(PROVIDERS), 401, None)
    assert "Sign in" in body["detail"]


# --- no body makes the service fall over -------------------------------------------------------------

FIELDS = ["name", "nzbn", "kind", "region", "risk_tier", "contract_reference", "contract_start", "contract_end"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=250),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
plausible = {
    "name": st.text(max_size=210),
    "nzbn": st.sampled_from([demo_nzbn(700), demo_nzbn(701), "9429 0000 07006", "", "1" * 13]) | st.text(max_size=25),
    "kind": st.sampled_from(["iwi_maori", "ngo", "contractor", "other", "NGO"]),
    "region": st.sampled_from(["Otago", "Wellington", "Hawke's Bay", "otago"]),
    "risk_tier": st.integers(min_value=-2, max_value=5),
    "contract_reference": st.none() | st.text(max_size=70),
    "contract_start": st.none() | st.dates().map(str) | st.text(max_size=12),
    "contract_end": st.none() | st.dates().map(str),
}
provider_like = st.fixed_dictionaries({}, optional={f: plausible[f] | json_values for f in FIELDS})
bodies = provider_like | json_values | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values)


@pytest.fixture
def admin(world: World):
    return world.admin


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_json_body_gets_a_5xx(admin, body: Any):
    r = admin.post(PROVIDERS, json=body)
    assert r.status_code < 500, r.text
    if r.status_code != 201:
        assert is_problem(r)


@pytest.mark.parametrize("depth", [970, 100_000])
def test_json_nested_too_deeply_is_400_even_before_signing_in(world: World, depth: int):
    """msgspec gives up on deep nesting with a RecursionError: bad input, not an internal error."""
    body = b'{"email": ' + b"[" * depth + b"]" * depth + b', "password": "x"}'
    for response in (world.client.post("/api/v1/auth/login", content=body,
                                       headers={"Content-Type": "application/json"}),
                     world.admin.post(PROVIDERS, content=body, headers={"Content-Type": "application/json"})):
        body = named_problem(response, 400, "body")
        assert "nested too deeply" in body["detail"]
