"""HTTP for audits: risk-based plans, and the auditors' capacity, leave and conflicts they are planned within.
Thin: the rules are in ``services.planning`` and ``services.availability``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from partner_audit.api import Page, Paging, to
from partner_audit.audits.schemas.planning import (
    AcceptIn,
    AuditorOut,
    CapacityIn,
    ConflictIn,
    ConflictOut,
    LeaveIn,
    LeaveOut,
    PlanDecision,
    PlanOut,
    PlanRequest,
    PlanSummary,
)
from partner_audit.audits.services import availability, planning
from partner_audit.openapi import never
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings


class AuditPlanController(Controller):
    path = "/audit-plans"
    tags = ["Audit plans"]

    @post("/", guards=[policies.PLAN_AUDITS.guard], status_code=201, summary="Plan audits for a date range")
    async def create_plan(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                          data: JSONBody[PlanRequest]) -> PlanOut:
        """Proposes an audit for every active or onboarding provider due in the range by its tier's interval,
        overdue first then by lowest verified score, on working days its auditor is free, within capacity, leave
        and independence. Each proposal says why this provider, date and auditor; `skipped` lists the due
        providers it could not place, and why. The proposals book their auditors' days until accepted or
        discarded."""
        return to(PlanOut, await planning.plan(caller, data.starts_on, data.ends_on, settings))

    @get("/", guards=[policies.PLAN_AUDITS.guard], summary="List audit plans")
    async def list_plans(self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]
                         ) -> Page[PlanSummary]:
        """Newest first, with how many audits each proposed and how many due providers it skipped."""
        rows, total = await planning.plans(caller, paging)
        return Page.of(rows, total, paging, PlanSummary)

    @get("/{plan_id:uuid}", guards=[policies.PLAN_AUDITS.guard], summary="Get an audit plan")
    async def get_plan(self, caller: NamedDependency[Caller], plan_id: FromPath[UUID]) -> PlanOut:
        """The plan's proposals (and what became of them) and the providers it skipped."""
        return to(PlanOut, await planning.get(caller, plan_id))

    @post("/{plan_id:uuid}/accept", guards=[policies.ACCEPT_AUDIT_PLAN.guard], status_code=200,
          summary="Accept a plan's proposals")
    async def accept_plan(self, caller: NamedDependency[Caller], plan_id: FromPath[UUID],
                          data: JSONBody[AcceptIn]) -> PlanDecision:
        """Schedules the proposals named in `audit_ids`, or all still proposed when absent. Accepting again
        changes nothing (`changed` 0); the rest stay proposed until accepted or the plan is discarded."""
        changed, plan = await planning.accept(caller, plan_id, data.audit_ids)
        return PlanDecision(changed=changed, plan=to(PlanOut, plan))

    @post("/{plan_id:uuid}/discard", guards=[policies.ACCEPT_AUDIT_PLAN.guard], status_code=200,
          summary="Discard the rest of a plan", opt=never(422))
    async def discard_plan(self, caller: NamedDependency[Caller], plan_id: FromPath[UUID]) -> PlanDecision:
        """Declines every proposal still proposed: cancelled with the reason "plan discarded", their days freed.
        Accepted proposals stay scheduled."""
        changed, plan = await planning.discard(caller, plan_id)
        return PlanDecision(changed=changed, plan=to(PlanOut, plan))


class AuditorController(Controller):
    path = "/auditors"
    tags = ["Auditors"]

    @get("/", guards=[policies.SEE_AUDITOR_AVAILABILITY.guard], summary="List auditors and their capacity")
    async def list_auditors(self, caller: NamedDependency[Caller],
                            settings: NamedDependency[Settings]) -> list[AuditorOut]:
        """Every active auditor with the audits a week they are planned for (the default where none is set)."""
        return [to(AuditorOut, r) for r in await availability.auditors(caller, settings)]

    @put("/{auditor_id:uuid}/capacity", guards=[policies.MANAGE_AUDITOR_AVAILABILITY.guard],
         summary="Set an auditor's capacity")
    async def set_capacity(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           auditor_id: FromPath[UUID], data: JSONBody[CapacityIn]) -> AuditorOut:
        """Audits a week, and whether they are planned at all. An auditor sets their own; an admin anyone's."""
        return to(AuditorOut, await availability.set_capacity(caller, auditor_id, data, settings))

    @post("/{auditor_id:uuid}/leave", guards=[policies.MANAGE_AUDITOR_AVAILABILITY.guard], status_code=201,
          summary="Record an auditor's leave")
    async def add_leave(self, caller: NamedDependency[Caller], auditor_id: FromPath[UUID],
                        data: JSONBody[LeaveIn]) -> LeaveOut:
        """No audit is planned for them on these days, both included."""
        return to(LeaveOut, await availability.add_leave(caller, auditor_id, data))

    @get("/{auditor_id:uuid}/leave", guards=[policies.SEE_AUDITOR_AVAILABILITY.guard], summary="An auditor's leave")
    async def list_leave(self, caller: NamedDependency[Caller], auditor_id: FromPath[UUID],
                         since: FromQuery[date | None] = None) -> list[LeaveOut]:
        """Earliest first; with `since`, only leave ending on or after it."""
        return [to(LeaveOut, r) for r in await availability.leave(caller, auditor_id, since)]

    @delete("/{auditor_id:uuid}/leave/{leave_id:uuid}", guards=[policies.MANAGE_AUDITOR_AVAILABILITY.guard],
            status_code=204, summary="Remove an auditor's leave", opt=never(409, 422))
    async def remove_leave(self, caller: NamedDependency[Caller], auditor_id: FromPath[UUID],
                           leave_id: FromPath[UUID]) -> None:
        """Cancelled leave: the days are free for planning again."""
        await availability.remove_leave(caller, auditor_id, leave_id)


class ConflictController(Controller):
    path = "/auditor-conflicts"
    tags = ["Auditors"]

    @post("/", guards=[policies.DECLARE_CONFLICT.guard], status_code=201, summary="Declare a conflict")
    async def declare(self, caller: NamedDependency[Caller], data: JSONBody[ConflictIn]) -> ConflictOut:
        """A conflict of interest keeps the auditor off every audit of the provider; a responsibility (until
        `ends_on`, or still) keeps them from leading one for the independence period after. The caller's own
        unless an admin names `auditor_id`. Declaring it again updates it."""
        return to(ConflictOut, await availability.declare_conflict(caller, data))

    @get("/", guards=[policies.SEE_AUDITOR_AVAILABILITY.guard], summary="List declared conflicts")
    async def list_conflicts(self, caller: NamedDependency[Caller], paging: NamedDependency[Paging],
                             auditor_id: FromQuery[UUID | None] = None, provider_id: FromQuery[UUID | None] = None,
                             withdrawn: FromQuery[bool] = False) -> Page[ConflictOut]:
        """The standing conflicts (with `withdrawn=true`, those withdrawn too), by auditor then provider."""
        rows, total = await availability.conflicts(caller, paging, auditor_id, provider_id, withdrawn)
        return Page.of(rows, total, paging, ConflictOut)

    @post("/{conflict_id:uuid}/withdraw", guards=[policies.DECLARE_CONFLICT.guard], status_code=200,
          summary="Withdraw a conflict", opt=never(422))
    async def withdraw(self, caller: NamedDependency[Caller], conflict_id: FromPath[UUID]) -> ConflictOut:
        """The auditor may be planned for the provider again. Withdrawing twice changes nothing."""
        return to(ConflictOut, await availability.withdraw_conflict(caller, conflict_id))


ROUTERS: list = [AuditPlanController, AuditorController, ConflictController]
