"""HTTP for the providers registry: thin, the rules are in ``service``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from partner_audit.api import Page, Paging, query_text, to
from partner_audit.providers import service
from partner_audit.providers.schemas import (
    ProviderCreate,
    ProviderFilter,
    ProviderKind,
    ProviderOut,
    ProviderSort,
    ProviderStatus,
    ProviderUpdate,
    Region,
    StatusChange,
)
from partner_audit.security import policies
from partner_audit.security.caller import Caller


class ProviderController(Controller):
    path = "/providers"
    tags = ["Providers"]

    @get("/", guards=[policies.SEE_PROVIDERS.guard], summary="Search providers")
    async def list_providers(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        risk_tier: Annotated[int | None, QueryParameter(ge=1, le=3)] = None,
        region: FromQuery[Region | None] = None,
        kind: FromQuery[ProviderKind | None] = None,
        status: FromQuery[ProviderStatus | None] = None,
        q: query_text(100, "Text in the provider's name") = None,
        sort: FromQuery[ProviderSort] = ProviderSort.name,
    ) -> Page[ProviderOut]:
        """The provider register, filtered and sorted. A provider's own people see only their organisation."""
        flt = ProviderFilter(risk_tier, region, kind, status, q)
        rows, total = await service.search(caller, flt, sort, paging)
        return Page.of(rows, total, paging, ProviderOut)

    @post("/", guards=[policies.REGISTER_PROVIDER.guard], status_code=201, summary="Register a provider")
    async def register_provider(self, caller: NamedDependency[Caller], data: JSONBody[ProviderCreate]) -> ProviderOut:
        """A new provider, active. Its NZBN is checked (check digit) and must be new to the register."""
        return to(ProviderOut, await service.register(caller, data))

    @get("/{provider_id:uuid}", guards=[policies.SEE_PROVIDERS.guard], summary="Get a provider")
    async def get_provider(self, caller: NamedDependency[Caller], provider_id: FromPath[UUID]) -> ProviderOut:
        """One provider's record. Another provider's, for a provider's people, is a 404."""
        return to(ProviderOut, await service.get(caller, provider_id))

    @patch("/{provider_id:uuid}", guards=[policies.EDIT_PROVIDER.guard], summary="Edit a provider")
    async def update_provider(self, caller: NamedDependency[Caller], provider_id: FromPath[UUID], data: JSONBody[ProviderUpdate]) -> ProviderOut:
        """Change the fields given; the others stay. The status changes only through `/status`."""
        return to(ProviderOut, await service.update(caller, provider_id, data))

    @post("/{provider_id:uuid}/status", guards=[policies.CHANGE_PROVIDER_STATUS.guard], status_code=200,
          summary="Change a provider's status")
    async def change_status(self, caller: NamedDependency[Caller], provider_id: FromPath[UUID], data: JSONBody[StatusChange]) -> ProviderOut:
        """Suspended or exited: the provider's people lose access on their next request."""
        return to(ProviderOut, await service.change_status(caller, provider_id, data.status, data.reason))


ROUTERS = [ProviderController]
