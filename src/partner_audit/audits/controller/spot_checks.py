"""HTTP for audits: device spot-checks. Thin: the rules, and whose holder details show, are in
``services.spot_checks`` and ``devices.services.visibility``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from partner_audit.api import to
from partner_audit.audits.schemas.spot_checks import SampleDraw, SampleOut, SpotCheckItemOut, SpotCheckRecord
from partner_audit.audits.services import spot_checks
from partner_audit.devices.services.breaches import BreachClocks
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings


class SampleController(Controller):
    path = "/audits"
    tags = ["Audits: spot-checks"]

    @post("/{audit_id:uuid}/sample", guards=[policies.DRAW_SPOT_CHECK_SAMPLE.guard], status_code=201,
          summary="Draw a spot-check's sample")
    async def draw(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                   audit_id: FromPath[UUID], data: JSONBody[SampleDraw]) -> SampleOut:
        """Once, while the spot-check is scheduled or in progress, by an auditor on it: a random sample of the
        provider's open assignments, sized by attribute sampling with zero expected exceptions (or the fixed
        `size` given), reproducible from the recorded seed and the frozen population's digest. A second draw is a
        409: the sample is fixed."""
        return to(SampleOut, await spot_checks.draw_sample(caller, audit_id, data,
                                                           spot_checks.SamplingDefaults.of(settings)))

    @get("/{audit_id:uuid}/sample", guards=[policies.SEE_SPOT_CHECK.guard], summary="Get a spot-check's sample")
    async def sample(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> SampleOut:
        """The sampled devices in the order drawn and what was found. Holder details show only to those who may
        see them: the audit's own auditors while it is in progress, and those who see holders anyway."""
        return to(SampleOut, await spot_checks.get_sample(caller, audit_id))


class SpotCheckItemController(Controller):
    path = "/spot-check-items"
    tags = ["Audits: spot-checks"]

    @post("/{item_id:uuid}", guards=[policies.RECORD_SPOT_CHECK.guard], status_code=200,
          summary="Record a spot-check result")
    async def record(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                     item_id: FromPath[UUID], data: JSONBody[SpotCheckRecord]) -> SpotCheckItemOut:
        """Seen, not seen, or a discrepancy (and what differed, in `note`), while the audit is in progress. Not
        seen reports the device lost: an incident opens, once, with its breach assessment."""
        return to(SpotCheckItemOut, await spot_checks.record(caller, item_id, data, BreachClocks.of(settings)))


ROUTERS: list = [SampleController, SpotCheckItemController]
