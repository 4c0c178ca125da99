"""``world``: providers A and B, and a person of every role, made when a test first names them.

Every test used to start with eight people (each a user and an API token); most name one or two. The providers
are made up front: listings and the journeys' background expect both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import TestClient
from piccolo.engine.base import Engine

from partner_audit import db
from partner_audit.piccolo_app import TABLES
from partner_audit.security.caller import Caller, Role
from tests.support.http import Api

PASSWORD = "correct horse battery staple"

# key -> (role, provider letter or None): provider roles at A, ``b_admin`` and ``b_user`` at B.
PEOPLE: dict[str, tuple[Role, str | None]] = {
    **{role.value: (role, None) for role in (Role.admin, Role.partnerships, Role.auditor, Role.governance)},
    "provider_admin": (Role.provider_admin, "A"),
    "provider_user": (Role.provider_user, "A"),
    "b_admin": (Role.provider_admin, "B"),
    "b_user": (Role.provider_user, "B"),
}


class People(dict[str, Api]):
    """``world.people[key]``: the person, made on first use when ``key`` is one of ``PEOPLE``."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self._world = world

    def __missing__(self, key: str) -> Api:
        if key not in PEOPLE:
            raise KeyError(key)
        role, letter = PEOPLE[key]
        provider = {"A": self._world.provider_a, "B": self._world.provider_b}.get(letter or "")
        return self._world.add_person(key, role, provider["id"] if provider else None)


@dataclass
class World:
    """Two providers, A and B, and a person of every role (provider roles at A; ``b_admin`` at B)."""

    client: TestClient
    run: Callable[..., Any]
    provider_a: dict[str, Any]
    provider_b: dict[str, Any]
    engine: Engine | None = None  # the tables' engine when the world was made
    people: People = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self)

    def __getattr__(self, name: str) -> Api:
        if name.startswith("_") or name in ("people", "engine"):
            raise AttributeError(name)
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None

    def add_person(self, key: str, role: Role, provider_id: Any = None) -> Api:
        from partner_audit.security import service

        email = f"{key.replace('_', '.')}@example.org"

        async def make() -> tuple[dict[str, Any], str]:
            # A person first named inside another app's block (a test's own app rebinds the tables) is still
            # made in the world's database, on the world's engine.
            current = db.bound_engine()
            if self.engine is not None and current is not self.engine:
                db.bind(self.engine, TABLES)
            try:
                user = await service.create_user(
                    Caller.system("test"), email=email, full_name=key.replace("_", " ").title(), role=role,
                    password=PASSWORD, provider_id=provider_id,
                )
                token, _ = await service.create_api_token(Caller(user["id"], email, role, provider_id), "tests", 30)
            finally:
                if current is not None and current is not db.bound_engine():
                    db.bind(current, TABLES)
            return user, token

        user, token = self.run(make)
        self.people[key] = Api(self.client, token, user)
        return self.people[key]


def register_provider(run: Callable[..., Any], name: str, index: int, **overrides: Any) -> dict[str, Any]:
    from partner_audit.demo import demo_nzbn
    from partner_audit.providers import service
    from partner_audit.providers.schemas import ProviderCreate, ProviderKind, Region

    data = ProviderCreate(name=name, nzbn=demo_nzbn(900 + index), kind=overrides.pop("kind", ProviderKind.ngo),
                          region=overrides.pop("region", Region.wellington),
                          risk_tier=overrides.pop("risk_tier", 2), **overrides)
    return run(lambda: service.register(Caller.system("test"), data))


@pytest.fixture
def world(client: TestClient, run: Callable[..., Any]) -> World:
    provider_a = register_provider(run, "Provider A Trust", 1)
    provider_b = register_provider(run, "Provider B Trust", 2)
    return World(client, run, provider_a, provider_b, db.bound_engine())


@pytest.fixture
def everyone(world: World) -> World:
    """The world with every person made up front, for tests that sign in by email or count the accounts."""
    for key in PEOPLE:
        world.people[key]  # noqa: B018  (made on first use)
    return world
