"""HTTP for audits, their findings, corrective actions and evidence. Thin: the rules are in ``audits.services``."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from partner_audit.api import Page, Paging, reads, stored_download, stored_download_responses, to
from partner_audit.audits.schemas import ActionStatus, AuditKind, AuditStatus
from partner_audit.audits.schemas.audits import (
    ActionCreate,
    ActionFilter,
    ActionOut,
    ActionReason,
    ActionRespond,
    ActionVerify,
    AuditCancel,
    AuditCreate,
    AuditDetail,
    AuditFilter,
    AuditOut,
    AuditReport,
    AuditUpdate,
    AuditEvidenceOut,
    AuditEvidenceUpload,
    FindingCreate,
    FindingOut,
    FindingUpdate,
)
from partner_audit.audits.services import actions, audits, evidence, findings
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings
from partner_audit.storage import EvidenceStore
from partner_audit.uploads import EXTENSIONS, FormUpload

UPLOAD = reads({"multipart/form-data": AuditEvidenceUpload}, "The file, as a form field named `file`.")


class AuditController(Controller):
    path = "/audits"
    tags = ["Audits"]

    @get("/", guards=[policies.SEE_AUDITS.guard], summary="List audits")
    async def list_audits(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        provider_id: FromQuery[UUID | None] = None,
        status: FromQuery[AuditStatus | None] = None,
        kind: FromQuery[AuditKind | None] = None,
        starts_from: Annotated[date | None, QueryParameter(name="from", description="Audits still running on or "
                                                                                 "after this day")] = None,
        ends_by: Annotated[date | None, QueryParameter(name="to", description="Audits starting on or before this "
                                                                          "day")] = None,
    ) -> Page[AuditOut]:
        """Audits by start date, filtered by provider, status, kind, and the dates they run: `from` keeps those
        still running on or after a day, `to` those starting on or before one. A provider's people see their own
        provider's."""
        flt = AuditFilter(provider_id, status, kind, starts_from, ends_by)
        rows, total = await audits.list_audits(caller, flt, paging)
        return Page.of(rows, total, paging, AuditOut)

    @post("/", guards=[policies.CREATE_AUDIT.guard], status_code=201, summary="Create an audit")
    async def create_audit(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           data: JSONBody[AuditCreate]) -> AuditDetail:
        """A proposed audit of a provider. Its first and last days must be working days where the provider
        works (no weekend, public holiday or the anniversary day it observes: a 422 names the day and why); its
        lead and other auditors active auditors, independent of the provider (a declared conflict of interest,
        or leading a review of a provider one led an audit of or was responsible for within
        `PA_AUDIT_INDEPENDENCE_MONTHS`, is a 422 naming the rule) and free on its days (409 names the clash).
        With no `assessment_id`, it reviews the provider's latest accepted self-assessment."""
        return to(AuditDetail, await audits.create_audit(
            caller, data, independence_months=settings.audit_independence_months))

    @get("/{audit_id:uuid}", guards=[policies.SEE_AUDITS.guard], summary="Read an audit")
    async def get_audit(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> AuditDetail:
        """With its team, how many findings it has and a summary of their corrective actions."""
        return to(AuditDetail, await audits.get_audit(caller, audit_id))

    @patch("/{audit_id:uuid}", guards=[policies.EDIT_AUDIT.guard], summary="Change an audit")
    async def update_audit(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           audit_id: FromPath[UUID], data: JSONBody[AuditUpdate]) -> AuditDetail:
        """Change the dates, title, scope or team given, until the audit is reported (409 after). The same
        rules as creating it; the team's days are booked again."""
        return to(AuditDetail, await audits.update_audit(
            caller, audit_id, data, independence_months=settings.audit_independence_months))

    @post("/{audit_id:uuid}/schedule", guards=[policies.SCHEDULE_AUDIT.guard], status_code=200,
          summary="Schedule a proposed audit")
    async def schedule(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> AuditDetail:
        """proposed → scheduled: it needs a lead auditor (409 without one)."""
        return to(AuditDetail, await audits.schedule(caller, audit_id))

    @post("/{audit_id:uuid}/start", guards=[policies.START_AUDIT.guard], status_code=200, summary="Start an audit")
    async def start(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> AuditDetail:
        """scheduled → in_progress."""
        return to(AuditDetail, await audits.start(caller, audit_id))

    @post("/{audit_id:uuid}/report", guards=[policies.REPORT_AUDIT.guard], status_code=200,
          summary="Report an audit")
    async def report(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID],
                     data: JSONBody[AuditReport]) -> AuditDetail:
        """in_progress → reported, with the auditor's summary."""
        return to(AuditDetail, await audits.report(caller, audit_id, data.summary))

    @post("/{audit_id:uuid}/close", guards=[policies.CLOSE_AUDIT.guard], status_code=200, summary="Close an audit")
    async def close(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> AuditDetail:
        """reported → closed, once every finding is rated and every high or critical finding's corrective
        actions are verified or carried forward; otherwise a 409 lists each thing that blocks it."""
        return to(AuditDetail, await audits.close(caller, audit_id))

    @post("/{audit_id:uuid}/cancel", guards=[policies.CANCEL_AUDIT.guard], status_code=200,
          summary="Cancel an audit")
    async def cancel(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID],
                     data: JSONBody[AuditCancel]) -> AuditDetail:
        """From any state before closed, with a reason; the team's days are freed."""
        return to(AuditDetail, await audits.cancel(caller, audit_id, data.reason))

    @get("/{audit_id:uuid}/findings", guards=[policies.SEE_FINDINGS.guard], summary="An audit's findings")
    async def list_findings(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID]) -> list[FindingOut]:
        """Every finding of the audit, by control, with its evidence."""
        return [to(FindingOut, r) for r in await findings.list_findings(caller, audit_id)]

    @post("/{audit_id:uuid}/findings", guards=[policies.RECORD_FINDING.guard], status_code=201,
          summary="Record a finding")
    async def record_finding(self, caller: NamedDependency[Caller], audit_id: FromPath[UUID],
                             data: JSONBody[FindingCreate]) -> FindingOut:
        """One finding per control of the audit's template (in its scope, when it has one): a second on the same
        control is a 409 naming the first. A critical finding proposes a follow-up audit, once
        (`follow_up_audit_id`)."""
        return to(FindingOut, await findings.record_finding(caller, audit_id, data))


class FindingController(Controller):
    path = "/findings"
    tags = ["Audits"]

    @get("/{finding_id:uuid}", guards=[policies.SEE_FINDINGS.guard], summary="Read a finding")
    async def get_finding(self, caller: NamedDependency[Caller], finding_id: FromPath[UUID]) -> FindingOut:
        """The finding with its evidence."""
        return to(FindingOut, await findings.get_finding(caller, finding_id))

    @patch("/{finding_id:uuid}", guards=[policies.RECORD_FINDING.guard], summary="Change a finding")
    async def update_finding(self, caller: NamedDependency[Caller], finding_id: FromPath[UUID],
                             data: JSONBody[FindingUpdate]) -> FindingOut:
        """Change the rating, severity, observation or recommendation given, until the audit closes."""
        return to(FindingOut, await findings.update_finding(caller, finding_id, data))

    @post("/{finding_id:uuid}/actions", guards=[policies.RAISE_CORRECTIVE_ACTION.guard], status_code=201,
          summary="Raise a corrective action")
    async def raise_action(self, caller: NamedDependency[Caller], finding_id: FromPath[UUID],
                           data: JSONBody[ActionCreate]) -> ActionOut:
        """Ask the provider for a fix: what, who owns it there, and by when (not a past day)."""
        return to(ActionOut, await actions.raise_action(caller, finding_id, data))

    # The body streams to the store, so the route reads the request itself; ``reads`` documents the form.
    @post("/{finding_id:uuid}/evidence", guards=[policies.ATTACH_FINDING_EVIDENCE.guard], status_code=201,
          request_max_body_size=None, summary="Attach evidence to a finding", opt=UPLOAD)
    async def attach(self, caller: NamedDependency[Caller], request: Request, settings: NamedDependency[Settings],
                     store: NamedDependency[EvidenceStore], finding_id: FromPath[UUID]) -> AuditEvidenceOut:
        """multipart/form-data with the `file` (at most `PA_MAX_UPLOAD_MB`). It streams to the evidence store; its
        type is checked from its bytes (PDF, images, Office documents, text, CSV), and a file that is not what
        it claims to be is refused (415)."""
        form = FormUpload(request)
        await form.open()
        return to(AuditEvidenceOut, await evidence.attach_to_finding(caller, store, finding_id, form.filename,
                                                                form.chunks(), settings.max_upload_bytes))


class CorrectiveActionController(Controller):
    path = "/corrective-actions"
    tags = ["Audits"]

    @get("/", guards=[policies.SEE_CORRECTIVE_ACTIONS.guard], summary="List corrective actions")
    async def list_actions(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[ActionStatus | None] = None,
        overdue: FromQuery[bool | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        audit_id: FromQuery[UUID | None] = None,
    ) -> Page[ActionOut]:
        """By due date, filtered by status, overdue (open past its due date), provider or audit. A provider's
        admin sees their own provider's."""
        rows, total = await actions.list_actions(caller, ActionFilter(status, overdue, provider_id, audit_id), paging)
        return Page.of(rows, total, paging, ActionOut)

    @get("/{action_id:uuid}", guards=[policies.SEE_CORRECTIVE_ACTIONS.guard], summary="Read a corrective action")
    async def get_action(self, caller: NamedDependency[Caller], action_id: FromPath[UUID]) -> ActionOut:
        """With its response, verification and evidence; `overdue` and `days_overdue` while open past due."""
        return to(ActionOut, await actions.get_action(caller, action_id))

    @post("/{action_id:uuid}/respond", guards=[policies.RESPOND_TO_CORRECTIVE_ACTION.guard], status_code=200,
          summary="Answer a corrective action")
    async def respond(self, caller: NamedDependency[Caller], action_id: FromPath[UUID],
                      data: JSONBody[ActionRespond]) -> ActionOut:
        """The provider's admin says what was done: open → responded. Answering one already answered is a 409."""
        return to(ActionOut, await actions.respond(caller, action_id, data.response))

    @post("/{action_id:uuid}/verify", guards=[policies.VERIFY_CORRECTIVE_ACTION.guard], status_code=200,
          summary="Verify a corrective action")
    async def verify(self, caller: NamedDependency[Caller], action_id: FromPath[UUID],
                     data: JSONBody[ActionVerify]) -> ActionOut:
        """responded → verified, with an optional note."""
        return to(ActionOut, await actions.verify(caller, action_id, data.note))

    @post("/{action_id:uuid}/return", guards=[policies.RETURN_CORRECTIVE_ACTION.guard], status_code=200,
          summary="Return a corrective action")
    async def return_action(self, caller: NamedDependency[Caller], action_id: FromPath[UUID],
                            data: JSONBody[ActionReason]) -> ActionOut:
        """responded → open, with the reason the response does not show the fix."""
        return to(ActionOut, await actions.return_action(caller, action_id, data.reason))

    @post("/{action_id:uuid}/carry-forward", guards=[policies.CARRY_FORWARD_CORRECTIVE_ACTION.guard],
          status_code=200, summary="Carry a corrective action forward")
    async def carry_forward(self, caller: NamedDependency[Caller], action_id: FromPath[UUID],
                            data: JSONBody[ActionReason]) -> ActionOut:
        """Open or responded → carried_forward, with the reason: left open past the audit's close on purpose."""
        return to(ActionOut, await actions.carry_forward(caller, action_id, data.reason))

    @post("/{action_id:uuid}/evidence", guards=[policies.ATTACH_ACTION_EVIDENCE.guard], status_code=201,
          request_max_body_size=None, summary="Attach evidence to a response", opt=UPLOAD)
    async def attach(self, caller: NamedDependency[Caller], request: Request, settings: NamedDependency[Settings],
                     store: NamedDependency[EvidenceStore], action_id: FromPath[UUID]) -> AuditEvidenceOut:
        """The provider's proof of the fix, while the action is open or awaiting verification: multipart/form-data
        with the `file` (at most `PA_MAX_UPLOAD_MB`), its type checked from its bytes (415 otherwise)."""
        form = FormUpload(request)
        await form.open()
        return to(AuditEvidenceOut, await evidence.attach_to_action(caller, store, action_id, form.filename,
                                                               form.chunks(), settings.max_upload_bytes))


class AuditEvidenceController(Controller):
    path = "/audit-evidence"
    tags = ["Audits"]

    @get("/{evidence_id:uuid}/download", guards=[policies.DOWNLOAD_AUDIT_EVIDENCE.guard],
         summary="Download audit evidence", responses=stored_download_responses(EXTENSIONS))
    async def download(self, caller: NamedDependency[Caller], store: NamedDependency[EvidenceStore],
                       evidence_id: FromPath[UUID]) -> Response:
        """The file as uploaded, under its name. On S3, a redirect to a link valid for five minutes; otherwise the
        file itself."""
        row = await evidence.evidence_for_download(caller, evidence_id)
        return stored_download(store, row["storage_key"], row["filename"], row["content_type"], row["size"])


ROUTERS: list = [AuditController, FindingController, CorrectiveActionController, AuditEvidenceController]
