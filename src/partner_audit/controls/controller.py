"""HTTP for the control library: thin, the rules are in ``service``.

Templates are the questionnaires themselves, not any provider's data, so every signed-in role may read them:
a provider's people need them to see what they are answering. Loading is done from the command line.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from partner_audit.api import Page, Paging
from partner_audit.controls import service
from partner_audit.controls.schemas import TemplateVersionDetail, TemplateVersionOut
from partner_audit.security import policies
from partner_audit.security.caller import Caller


class TemplateController(Controller):
    path = "/templates"
    tags = ["Control library"]
    guards = [policies.READ_CONTROL_LIBRARY.guard]

    @get("/", summary="List template versions")
    async def list_templates(self, caller: NamedDependency[Caller],
                             paging: NamedDependency[Paging]) -> Page[TemplateVersionOut]:
        """Every loaded template version, newest first, with how many areas, controls and questions it has."""
        rows, total = await service.versions_page(caller, paging)
        return Page.of(rows, total, paging, lambda row: TemplateVersionOut(**service.summary(row, service.template_of(row))))

    @get("/{version_id:uuid}", summary="Get a template version")
    async def get_template(self, caller: NamedDependency[Caller], version_id: FromPath[UUID]) -> TemplateVersionDetail:
        """One version in full: its focus areas, controls and questions, with every default filled in."""
        row, template = await service.read_version(caller, version_id)
        return TemplateVersionDetail(**service.summary(row, template), template=template)


ROUTERS = [TemplateController]
