"""HTTP for the device register: devices, assignments, incidents, breach assessments, attestations, the import
and exports, and Privacy Act requests. Thin: the rules, and who sees a holder's details, are in ``services``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from partner_audit.api import Email, Page, Paging, attachment_headers, download, query_text, reads, to
from partner_audit.devices.schemas import (
    AssignmentException,
    AssignmentFilter,
    AssignmentOut,
    AttestationOut,
    BreachAssessmentFilter,
    BreachAssessmentOut,
    BreachAssessmentUpdate,
    BreachStatus,
    CheckIn,
    CheckOut,
    DeviceCreate,
    DeviceFilter,
    DeviceHistory,
    DeviceKind,
    DeviceOut,
    DeviceSort,
    DeviceStatus,
    DeviceStatusChange,
    DeviceUpdate,
    ImportReport,
    IncidentCreate,
    IncidentFilter,
    IncidentKind,
    IncidentOut,
    IncidentSummary,
    InPersonAttestation,
    LinkIssued,
    OverdueAttestation,
    PrivacyRequest,
    RegisterUpload,
    Transfer,
    TransferOut,
)
from partner_audit.devices.services import (
    assignments,
    attestations,
    breaches,
    exports,
    imports,
    incidents,
    privacy,
    register,
)
from partner_audit.devices.xlsx.reading import MAX_BYTES, Source
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings
from partner_audit.spreadsheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, ExportFormat
from partner_audit.uploads import whole_file

# What the exports hand out: .xlsx by default, .csv with ``format=csv``.
EXPORT = download(XLSX_MEDIA_TYPE, CSV_MEDIA_TYPE, description="The file: .xlsx, or .csv (UTF-8) with `format=csv`.")


class DeviceController(Controller):
    path = "/devices"
    tags = ["Devices"]

    @get("/", guards=[policies.SEE_REGISTER.guard], summary="Search devices")
    async def list_devices(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[DeviceStatus | None] = None,
        kind: FromQuery[DeviceKind | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        encrypted: FromQuery[bool | None] = None,
        mdm_enrolled: FromQuery[bool | None] = None,
        q: query_text(100, "Text in the asset tag, serial or model, or the holder's name (for those who may "
                           "see holders)") = None,
        sort: FromQuery[DeviceSort] = DeviceSort.asset_tag,
    ) -> Page[DeviceOut]:
        """`provider_id` is the provider holding the device now. A provider's people see their provider's devices."""
        flt = DeviceFilter(status, kind, provider_id, encrypted, mdm_enrolled, q)
        rows, total = await register.search_devices(caller, flt, sort, paging)
        return Page.of(rows, total, paging, DeviceOut)

    @post("/", guards=[policies.REGISTER_DEVICE.guard], status_code=201, summary="Register a device")
    async def register_device(self, caller: NamedDependency[Caller], data: JSONBody[DeviceCreate]) -> DeviceOut:
        """A new device starts in stock."""
        return to(DeviceOut, await register.create_device(caller, data))

    @get("/{device_id:uuid}", guards=[policies.SEE_REGISTER.guard], summary="Get a device")
    async def get_device(self, caller: NamedDependency[Caller], device_id: FromPath[UUID]) -> DeviceOut:
        """One device, with its current assignment; the holder's details only for those who may see them."""
        return to(DeviceOut, await register.get_device(caller, device_id))

    @patch("/{device_id:uuid}", guards=[policies.EDIT_DEVICE.guard], summary="Edit a device")
    async def update_device(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                            data: JSONBody[DeviceUpdate]) -> DeviceOut:
        """Change the fields given; the others stay. The status changes through `/status`, check-outs and
        incidents."""
        return to(DeviceOut, await register.update_device(caller, device_id, data))

    @post("/{device_id:uuid}/status", guards=[policies.CHANGE_DEVICE_STATUS.guard], status_code=200,
          summary="Change a device's status")
    async def change_status(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                            data: JSONBody[DeviceStatusChange]) -> DeviceOut:
        """By hand: in_stock, in_repair or retired. Assigned follows a check-out, lost and stolen an incident;
        retired is final."""
        return to(DeviceOut, await register.change_status(caller, device_id, data.status, data.reason))

    @get("/{device_id:uuid}/history", guards=[policies.SEE_REGISTER.guard], summary="A device's history")
    async def device_history(self, caller: NamedDependency[Caller], device_id: FromPath[UUID]) -> DeviceHistory:
        """Every assignment and incident of the device, newest first."""
        return to(DeviceHistory, await assignments.history(caller, device_id))

    @post("/{device_id:uuid}/check-out", guards=[policies.CHECK_OUT_DEVICE.guard], status_code=201,
          summary="Check a device out")
    async def check_out(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                        data: JSONBody[CheckOut]) -> AssignmentOut:
        """Only a device in stock goes out; a device already out is a 409, whoever got there first."""
        return to(AssignmentOut, await assignments.check_out(caller, device_id, data))

    @post("/{device_id:uuid}/check-in", guards=[policies.CHECK_IN_DEVICE.guard], status_code=200,
          summary="Check a device in")
    async def check_in(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                       data: JSONBody[CheckIn]) -> AssignmentOut:
        """Records the return date, the condition, and whether (and by whom) personal data was wiped."""
        return to(AssignmentOut, await assignments.check_in(caller, device_id, data))

    @post("/{device_id:uuid}/transfer", guards=[policies.TRANSFER_DEVICE.guard], status_code=200,
          summary="Transfer a device")
    async def transfer(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                       data: JSONBody[Transfer]) -> TransferOut:
        """Check in and check out to the next holder in one step: if the check-out is refused, the device stays
        with its holder."""
        return to(TransferOut, await assignments.transfer(caller, device_id, data))


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["Devices"]

    @get("/", guards=[policies.SEE_REGISTER.guard], summary="List assignments")
    async def list_assignments(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        device_id: FromQuery[UUID | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        open: FromQuery[bool | None] = None,
    ) -> Page[AssignmentOut]:
        """Who held which device when, filtered by device, provider, or `open=true` for those still out."""
        rows, total = await assignments.list_assignments(
            caller, AssignmentFilter(device_id, provider_id, open), paging)
        return Page.of(rows, total, paging, AssignmentOut)

    @get("/exceptions", guards=[policies.SEE_REGISTER.guard], summary="List assignment exceptions")
    async def list_exceptions(self, caller: NamedDependency[Caller],
                              paging: NamedDependency[Paging]) -> Page[AssignmentException]:
        """Open assignments at a suspended or exited provider, or past their expected return."""
        rows, total = await assignments.list_exceptions(caller, paging)
        return Page.of(rows, total, paging, AssignmentException)

    @get("/{assignment_id:uuid}", guards=[policies.SEE_REGISTER.guard], summary="Get an assignment")
    async def get_assignment(self, caller: NamedDependency[Caller],
                             assignment_id: FromPath[UUID]) -> AssignmentOut:
        """One assignment of a device to a holder; the holder's details only for those who may see them."""
        return to(AssignmentOut, await assignments.get_assignment(caller, assignment_id))


class IncidentController(Controller):
    path = "/incidents"
    tags = ["Incidents"]

    @get("/", guards=[policies.SEE_REGISTER.guard], summary="List incidents")
    async def list_incidents(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        kind: FromQuery[IncidentKind | None] = None,
        device_id: FromQuery[UUID | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        since: FromQuery[date | None] = None,
        until: FromQuery[date | None] = None,
    ) -> Page[IncidentOut]:
        """Newest reported first; `since` and `until` bound when it happened (until is exclusive)."""
        flt = IncidentFilter(kind, device_id, provider_id, since, until)
        rows, total = await incidents.list_incidents(caller, flt, paging)
        return Page.of(rows, total, paging, IncidentOut)

    @post("/", guards=[policies.REPORT_INCIDENT.guard], status_code=201, summary="Report an incident")
    async def report_incident(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                              data: JSONBody[IncidentCreate]) -> IncidentOut:
        """Lost or stolen closes the device's open assignment and marks the device. Every incident, near misses
        too, starts a privacy breach assessment: the decision on serious harm is due `PA_BREACH_ASSESSMENT_HOURS`
        (48 by default) after the report."""
        return to(IncidentOut, await incidents.report_incident(caller, data, breaches.BreachClocks.of(settings)))

    @get("/summary", guards=[policies.SEE_INCIDENT_SUMMARY.guard], summary="Count incidents")
    async def summary(
        self,
        caller: NamedDependency[Caller],
        provider_id: FromQuery[UUID | None] = None,
        since: FromQuery[date | None] = None,
        until: FromQuery[date | None] = None,
    ) -> IncidentSummary:
        """Incidents and near misses counted apart, with the state of their breach assessments: open, overdue
        (undecided past the assessment clock; notifiable and not yet notified past the 72-hour clock) and judged
        likely to cause serious harm. Counts only, no personal information: governance reads it too, and a
        provider's people get their own provider's."""
        return to(IncidentSummary, await incidents.incident_summary(
            caller, IncidentFilter(provider_id=provider_id, since=since, until=until)))

    @get("/{incident_id:uuid}", guards=[policies.SEE_REGISTER.guard], summary="Get an incident")
    async def get_incident(self, caller: NamedDependency[Caller], incident_id: FromPath[UUID]) -> IncidentOut:
        """One incident, with its breach assessment's state."""
        return to(IncidentOut, await incidents.get_incident(caller, incident_id))


class BreachAssessmentController(Controller):
    path = "/breach-assessments"
    tags = ["Incidents"]

    @get("/", guards=[policies.SEE_BREACH_ASSESSMENTS.guard], summary="List breach assessments")
    async def list_assessments(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[BreachStatus | None] = None,
        overdue: FromQuery[bool | None] = None,
        serious_harm_likely: FromQuery[bool | None] = None,
    ) -> Page[BreachAssessmentOut]:
        """Soonest due first; `overdue=true` lists the open ones with a clock past due: undecided past the
        assessment's, or notifiable and not yet notified past the notification's."""
        flt = BreachAssessmentFilter(status, overdue, serious_harm_likely)
        rows, total = await breaches.list_breach_assessments(caller, flt, paging)
        return Page.of(rows, total, paging, BreachAssessmentOut)

    @get("/{assessment_id:uuid}", guards=[policies.SEE_BREACH_ASSESSMENTS.guard], summary="Get a breach assessment")
    async def get_assessment(self, caller: NamedDependency[Caller],
                             assessment_id: FromPath[UUID]) -> BreachAssessmentOut:
        """One privacy breach assessment, with its due time and what has been decided and notified."""
        return to(BreachAssessmentOut, await breaches.get_breach_assessment(caller, assessment_id))

    @patch("/{assessment_id:uuid}", guards=[policies.UPDATE_BREACH_ASSESSMENT.guard],
           summary="Record a breach assessment")
    async def update_assessment(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                                assessment_id: FromPath[UUID],
                                data: JSONBody[BreachAssessmentUpdate]) -> BreachAssessmentOut:
        """Record the Privacy Act 2020 s 113 matters (harm_reduction_action, information_sensitivity,
        nature_of_harm, recipients, security_protection, other_matters), then whether serious harm is likely
        (refused with a 422 naming each matter still blank). Judging it likely starts the notification clock
        (`PA_BREACH_NOTIFICATION_HOURS`, 72 by default), once. `held_as_agent` (s 11) decides who notifies:
        the agency when the provider held the information as its agent, otherwise the provider. Then record
        when the Privacy Commissioner and the affected people were notified."""
        return to(BreachAssessmentOut, await breaches.update_breach_assessment(
            caller, assessment_id, data, breaches.BreachClocks.of(settings)))

    @post("/{assessment_id:uuid}/close", guards=[policies.CLOSE_BREACH_ASSESSMENT.guard], status_code=200,
          summary="Close a breach assessment")
    async def close_assessment(self, caller: NamedDependency[Caller],
                               assessment_id: FromPath[UUID]) -> BreachAssessmentOut:
        """Needs the decision on the s 113 matters; for serious harm, who notifies (`held_as_agent`) and both
        notification times as well."""
        return to(BreachAssessmentOut, await breaches.close_breach_assessment(caller, assessment_id))


class AttestationController(Controller):
    """Attestations: the rules are in ``attestations``; the holder's own page is in ``pages``."""

    path = "/"
    tags = ["Attestations"]

    @post("/assignments/{assignment_id:uuid}/attestation-link", guards=[policies.REQUEST_ATTESTATION.guard],
          status_code=201, summary="Email an attestation link")
    async def issue_link(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                         assignment_id: FromPath[UUID]) -> LinkIssued:
        """Email the holder a single-use link to attest (it goes to the holder only, not in this response)."""
        return to(LinkIssued, await attestations.issue_link(settings, caller, assignment_id))

    @post("/assignments/{assignment_id:uuid}/attestations", guards=[policies.RECORD_ATTESTATION.guard],
          status_code=201, summary="Record an attestation in person")
    async def record_in_person(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                               assignment_id: FromPath[UUID],
                               data: JSONBody[InPersonAttestation]) -> AttestationOut:
        """An attestation the holder made to you in person."""
        return to(AttestationOut,
                   await attestations.record_in_person(settings, caller, assignment_id, data))

    @get("/attestations/overdue", guards=[policies.SEE_REGISTER.guard], summary="List overdue attestations")
    async def list_overdue(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           paging: NamedDependency[Paging]) -> Page[OverdueAttestation]:
        """Open assignments whose attestation is past due, most overdue first; a provider's people see their own."""
        rows, total = await attestations.list_overdue(settings, caller, paging)
        return Page.of(rows, total, paging, OverdueAttestation)


class DeviceImportController(Controller):
    """Bulk import of the register from .xlsx or .csv, and exports; the rules are in ``services.imports`` and
    ``services.exports``."""

    path = "/devices"
    tags = ["Devices"]

    # The limit leaves room for the form around the largest file read, so a file just over it is told its size.
    # The file comes as a form or as the raw body, so the route reads the request itself; ``reads`` documents both.
    @post("/import", guards=[policies.IMPORT_DEVICES.guard], status_code=200, request_max_body_size=MAX_BYTES + 2**20,
          summary="Import the register",
          opt=reads({"multipart/form-data": RegisterUpload, "text/csv": None, XLSX_MEDIA_TYPE: None,
                     "application/octet-stream": None},
                    "The .xlsx or .csv file: in a form's `file` field, or as the raw body (name it in `filename`)."))
    async def import_devices(self, caller: NamedDependency[Caller], request: Request,
                             dry_run: FromQuery[bool] = False,
                             filename: query_text(255, "The file's name, when the body is the raw file") = None,
                             default_purpose: query_text(
                                 2000, "What a device is for when its row says nothing (a Snipe-IT export has no "
                                       "purpose column); the report counts the rows that used it") = None,
                             ) -> ImportReport:
        """The register as an .xlsx or .csv file: multipart/form-data with the file in a field named `file`, or
        the raw file as the body. Every row is checked first; any problem is a 422 naming each row and column,
        and nothing changes. `dry_run=true` changes nothing and returns what would change, row by row, with the
        problems. Columns the import does not use are listed in `ignored_columns`.

        Snipe-IT's asset export is read as it is: "Checked Out To: First Name", "…: Last Name", "…: Email" and
        "…: Username" name the holder, "Company" their provider, "Asset Notes" the notes. A row that names a
        holder it cannot check the device out to is a problem naming its row; `warnings` name rows the import
        went on without (a device checked out to a location). Such an export has no purpose column:
        `default_purpose` is the purpose of a check-out whose row has none, and `default_purpose_rows` counts
        them. Once applied, `changes` lists the rows the import changed."""
        name, content = await whole_file(request, filename)
        return to(ImportReport, await imports.import_devices(caller, Source(name, content), dry_run=dry_run,
                                                             default_purpose=default_purpose))

    @get("/export", guards=[policies.SEE_REGISTER.guard], summary="Export the register", responses={200: EXPORT})
    async def export_register(
        self,
        caller: NamedDependency[Caller],
        format: FromQuery[ExportFormat] = ExportFormat.xlsx,
        status: FromQuery[DeviceStatus | None] = None,
        kind: FromQuery[DeviceKind | None] = None,
        provider_id: FromQuery[UUID | None] = None,
    ) -> Response:
        """The devices the caller may see with their current holders, in the columns the import reads. Holder
        name, email and phone only for partnerships, admin and a provider's admins (their own provider's)."""
        return _download(await exports.export_register(caller, format, DeviceFilter(status, kind, provider_id)))

    @get("/export/history", guards=[policies.SEE_HOLDER_DETAILS.guard], summary="Export a holder's history",
         responses={200: EXPORT})
    async def export_history(self, caller: NamedDependency[Caller], holder_email: FromQuery[Email],
                             format: FromQuery[ExportFormat] = ExportFormat.xlsx) -> Response:
        """Every device one person has held, by their email, newest first; a provider's admin gets their own
        provider's part of it."""
        return _download(await exports.export_history(caller, holder_email, format))


def _download(export: exports.Export | privacy.PersonExport) -> Response:
    return Response(export.content, media_type=export.media_type, headers=attachment_headers(export.filename))


class PrivacyController(Controller):
    path = "/privacy-requests"
    tags = ["Privacy"]

    @post("/", guards=[policies.ANSWER_PRIVACY_REQUEST.guard], status_code=200, summary="Answer a privacy request",
          responses={200: download(XLSX_MEDIA_TYPE, description="The .xlsx workbook of everything held about "
                                                                "the person.")})
    async def export_person(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                            data: JSONBody[PrivacyRequest]) -> Response:
        """A Privacy Act request (IPP 6): everything held about the device holder with this email, as one .xlsx
        workbook (a README sheet, then a sheet per kind of record). The export is logged."""
        return _download(await privacy.export_person(caller, data.email, settings.retention_months))


ROUTERS = [DeviceController, AssignmentController, IncidentController, BreachAssessmentController,
           AttestationController, DeviceImportController, PrivacyController]
