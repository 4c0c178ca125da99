"""HTTP for the device register: devices, assignments, incidents and breach assessments. Thin: the rules, and
who sees a holder's details, are in ``service``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from partner_audit.api import Email, Page, Paging, query_text, to
from partner_audit.devices import attestations, privacy, service, xlsx
from partner_audit.devices.schemas import (
    AssignmentException,
    AssignmentOut,
    BreachAssessmentOut,
    BreachAssessmentUpdate,
    BreachStatus,
    CheckIn,
    CheckOut,
    DeviceCreate,
    DeviceHistory,
    DeviceKind,
    DeviceOut,
    DeviceSort,
    DeviceStatus,
    DeviceStatusChange,
    DeviceUpdate,
    IncidentCreate,
    IncidentKind,
    IncidentOut,
    IncidentSummary,
    Transfer,
    TransferOut,
)
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.uploads import FormUpload
from partner_audit.settings import Settings


class DeviceController(Controller):
    path = "/devices"
    tags = ["Devices"]

    @get("/", guards=[policies.SEE_REGISTER.guard])
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
        flt = service.DeviceFilter(status, kind, provider_id, encrypted, mdm_enrolled, q)
        rows, total = await service.search_devices(caller, flt, sort, paging)
        return Page.of(rows, total, paging, DeviceOut)

    @post("/", guards=[policies.REGISTER_DEVICE.guard], status_code=201)
    async def register_device(self, caller: NamedDependency[Caller], data: JSONBody[DeviceCreate]) -> DeviceOut:
        """A new device starts in stock."""
        return to(DeviceOut, await service.create_device(caller, data))

    @get("/{device_id:uuid}", guards=[policies.SEE_REGISTER.guard])
    async def get_device(self, caller: NamedDependency[Caller], device_id: FromPath[UUID]) -> DeviceOut:
        return to(DeviceOut, await service.get_device(caller, device_id))

    @patch("/{device_id:uuid}", guards=[policies.EDIT_DEVICE.guard])
    async def update_device(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                            data: JSONBody[DeviceUpdate]) -> DeviceOut:
        return to(DeviceOut, await service.update_device(caller, device_id, data))

    @post("/{device_id:uuid}/status", guards=[policies.CHANGE_DEVICE_STATUS.guard], status_code=200)
    async def change_status(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                            data: JSONBody[DeviceStatusChange]) -> DeviceOut:
        """By hand: in_stock, in_repair or retired. Assigned follows a check-out, lost and stolen an incident;
        retired is final."""
        return to(DeviceOut, await service.change_status(caller, device_id, data.status, data.reason))

    @get("/{device_id:uuid}/history", guards=[policies.SEE_REGISTER.guard])
    async def device_history(self, caller: NamedDependency[Caller], device_id: FromPath[UUID]) -> DeviceHistory:
        """Every assignment and incident of the device, newest first."""
        return to(DeviceHistory, await service.history(caller, device_id))

    @post("/{device_id:uuid}/check-out", guards=[policies.CHECK_OUT_DEVICE.guard], status_code=201)
    async def check_out(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                        data: JSONBody[CheckOut]) -> AssignmentOut:
        """Only a device in stock goes out; a device already out is a 409, whoever got there first."""
        return to(AssignmentOut, await service.check_out(caller, device_id, data))

    @post("/{device_id:uuid}/check-in", guards=[policies.CHECK_IN_DEVICE.guard], status_code=200)
    async def check_in(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                       data: JSONBody[CheckIn]) -> AssignmentOut:
        """Records the return date, the condition, and whether (and by whom) personal data was wiped."""
        return to(AssignmentOut, await service.check_in(caller, device_id, data))

    @post("/{device_id:uuid}/transfer", guards=[policies.TRANSFER_DEVICE.guard], status_code=200)
    async def transfer(self, caller: NamedDependency[Caller], device_id: FromPath[UUID],
                       data: JSONBody[Transfer]) -> TransferOut:
        """Check in and check out to the next holder in one step: if the check-out is refused, the device stays
        with its holder."""
        return to(TransferOut, await service.transfer(caller, device_id, data))


class AssignmentController(Controller):
    path = "/assignments"
    tags = ["Devices"]

    @get("/", guards=[policies.SEE_REGISTER.guard])
    async def list_assignments(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        device_id: FromQuery[UUID | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        open: FromQuery[bool | None] = None,
    ) -> Page[AssignmentOut]:
        rows, total = await service.list_assignments(
            caller, service.AssignmentFilter(device_id, provider_id, open), paging)
        return Page.of(rows, total, paging, AssignmentOut)

    @get("/exceptions", guards=[policies.SEE_REGISTER.guard])
    async def list_exceptions(self, caller: NamedDependency[Caller],
                              paging: NamedDependency[Paging]) -> Page[AssignmentException]:
        """Open assignments at a suspended or exited provider, or past their expected return."""
        rows, total = await service.list_exceptions(caller, paging)
        return Page.of(rows, total, paging, AssignmentException)

    @get("/{assignment_id:uuid}", guards=[policies.SEE_REGISTER.guard])
    async def get_assignment(self, caller: NamedDependency[Caller],
                             assignment_id: FromPath[UUID]) -> AssignmentOut:
        return to(AssignmentOut, await service.get_assignment(caller, assignment_id))


class IncidentController(Controller):
    path = "/incidents"
    tags = ["Incidents"]

    @get("/", guards=[policies.SEE_REGISTER.guard])
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
        flt = service.IncidentFilter(kind, device_id, provider_id, since, until)
        rows, total = await service.list_incidents(caller, flt, paging)
        return Page.of(rows, total, paging, IncidentOut)

    @post("/", guards=[policies.REPORT_INCIDENT.guard], status_code=201)
    async def report_incident(self, caller: NamedDependency[Caller], data: JSONBody[IncidentCreate]) -> IncidentOut:
        """Lost or stolen closes the device's open assignment and marks the device. Every incident, near misses
        too, starts a privacy breach assessment due within the assessment period."""
        return to(IncidentOut, await service.report_incident(caller, data))

    @get("/summary", guards=[policies.SEE_REGISTER.guard])
    async def summary(
        self,
        caller: NamedDependency[Caller],
        provider_id: FromQuery[UUID | None] = None,
        since: FromQuery[date | None] = None,
        until: FromQuery[date | None] = None,
    ) -> IncidentSummary:
        """Incidents and near misses counted apart, with the state of their breach assessments."""
        return to(IncidentSummary, await service.incident_summary(
            caller, service.IncidentFilter(provider_id=provider_id, since=since, until=until)))

    @get("/{incident_id:uuid}", guards=[policies.SEE_REGISTER.guard])
    async def get_incident(self, caller: NamedDependency[Caller], incident_id: FromPath[UUID]) -> IncidentOut:
        return to(IncidentOut, await service.get_incident(caller, incident_id))


class BreachAssessmentController(Controller):
    path = "/breach-assessments"
    tags = ["Incidents"]

    @get("/", guards=[policies.SEE_BREACH_ASSESSMENTS.guard])
    async def list_assessments(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        status: FromQuery[BreachStatus | None] = None,
        overdue: FromQuery[bool | None] = None,
        serious_harm_likely: FromQuery[bool | None] = None,
    ) -> Page[BreachAssessmentOut]:
        """Soonest due first; `overdue=true` lists the open ones past their due time."""
        flt = service.AssessmentFilter(status, overdue, serious_harm_likely)
        rows, total = await service.list_assessments(caller, flt, paging)
        return Page.of(rows, total, paging, BreachAssessmentOut)

    @get("/{assessment_id:uuid}", guards=[policies.SEE_BREACH_ASSESSMENTS.guard])
    async def get_assessment(self, caller: NamedDependency[Caller],
                             assessment_id: FromPath[UUID]) -> BreachAssessmentOut:
        return to(BreachAssessmentOut, await service.get_assessment(caller, assessment_id))

    @patch("/{assessment_id:uuid}", guards=[policies.UPDATE_BREACH_ASSESSMENT.guard])
    async def update_assessment(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                                data: JSONBody[BreachAssessmentUpdate]) -> BreachAssessmentOut:
        """Record whether serious harm is likely and, if so, when the Privacy Commissioner and the affected
        people were notified."""
        return to(BreachAssessmentOut, await service.update_assessment(caller, assessment_id, data))

    @post("/{assessment_id:uuid}/close", guards=[policies.CLOSE_BREACH_ASSESSMENT.guard], status_code=200)
    async def close_assessment(self, caller: NamedDependency[Caller],
                               assessment_id: FromPath[UUID]) -> BreachAssessmentOut:
        """Needs the decision; for serious harm, both notification times as well."""
        return to(BreachAssessmentOut, await service.close_assessment(caller, assessment_id))



class AttestationController(Controller):
    """Attestations: the rules are in ``attestations``; the holder's own page is in ``pages``."""

    path = "/"
    tags = ["Attestations"]

    @post("/assignments/{assignment_id:uuid}/attestation-link", guards=[policies.REQUEST_ATTESTATION.guard], status_code=201)
    async def issue_link(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                         assignment_id: FromPath[UUID]) -> attestations.LinkIssued:
        """Email the holder a single-use link to attest (it goes to the holder only, not in this response)."""
        return to(attestations.LinkIssued, await attestations.issue_link(settings, caller, assignment_id))

    @post("/assignments/{assignment_id:uuid}/attestations", guards=[policies.RECORD_ATTESTATION.guard], status_code=201)
    async def record_in_person(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                               assignment_id: FromPath[UUID],
                               data: JSONBody[attestations.InPersonAttestation]) -> attestations.AttestationOut:
        """An attestation the holder made to you in person."""
        return to(attestations.AttestationOut,
                   await attestations.record_in_person(settings, caller, assignment_id, data))

    @get("/attestations/overdue", guards=[policies.SEE_REGISTER.guard])
    async def list_overdue(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                           paging: NamedDependency[Paging]) -> Page[attestations.OverdueAttestation]:
        """Open assignments whose attestation is past due, most overdue first; a provider's people see their own."""
        rows, total = await attestations.list_overdue(settings, caller, paging)
        return Page.of(rows, total, paging, attestations.OverdueAttestation)


class DeviceImportController(Controller):
    """Bulk import of the register from .xlsx or .csv, and exports; the rules are in ``devices.xlsx``."""

    path = "/devices"
    tags = ["Devices"]

    # The limit leaves room for the form around the largest file read, so a file just over it is told its size.
    @post("/import", guards=[policies.IMPORT_DEVICES.guard], status_code=200, request_max_body_size=xlsx.MAX_BYTES + 2**20)
    async def import_devices(self, caller: NamedDependency[Caller], request: Request,
                             dry_run: FromQuery[bool] = False,
                             filename: query_text(255, "The file's name, when the body is the raw file") = None,
                             ) -> xlsx.ImportReport:
        """The register as an .xlsx or .csv file: multipart/form-data with the file in a field named `file`, or
        the raw file as the body. Every row is checked first; any problem is a 422 naming each row and column,
        and nothing changes. `dry_run=true` changes nothing and returns what would change, row by row, with the
        problems. Columns the import does not use are listed in `ignored_columns`."""
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = FormUpload(request)
            await form.open()
            content = b"".join([chunk async for chunk in form.chunks()])
            name = form.filename
        else:
            content, name = await request.body(), filename or "upload"
        report = await xlsx.import_devices(caller, xlsx.Source(name, content), dry_run=dry_run)
        return to(xlsx.ImportReport, report)

    @get("/export", guards=[policies.SEE_REGISTER.guard])
    async def export_register(
        self,
        caller: NamedDependency[Caller],
        format: FromQuery[xlsx.ExportFormat] = xlsx.ExportFormat.xlsx,
        status: FromQuery[DeviceStatus | None] = None,
        kind: FromQuery[DeviceKind | None] = None,
        provider_id: FromQuery[UUID | None] = None,
    ) -> Response:
        """The devices the caller may see with their current holders, in the columns the import reads. Holder
        name, email and phone only for partnerships, admin and a provider's admins (their own provider's)."""
        content, _ = await xlsx.export_register(caller, format, service.DeviceFilter(status, kind, provider_id))
        return _download(content, format, f"device-register-{date.today().isoformat()}")

    @get("/export/history", guards=[policies.SEE_HOLDER_DETAILS.guard])
    async def export_history(self, caller: NamedDependency[Caller], holder_email: FromQuery[Email],
                             format: FromQuery[xlsx.ExportFormat] = xlsx.ExportFormat.xlsx) -> Response:
        """Every device one person has held, by their email, newest first; a provider's admin gets their own
        provider's part of it."""
        content, _ = await xlsx.export_history(caller, holder_email, format)
        return _download(content, format, f"device-history-{date.today().isoformat()}")


def _download(content: bytes, fmt: xlsx.ExportFormat, stem: str) -> Response:
    return Response(content, media_type=xlsx.media_type(fmt),
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt.value}"'})


class PrivacyController(Controller):
    path = "/privacy-requests"
    tags = ["Privacy"]

    @post("/", guards=[policies.ANSWER_PRIVACY_REQUEST.guard], status_code=200)
    async def export_person(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                            data: JSONBody[privacy.PrivacyRequest]) -> Response:
        """A Privacy Act request (IPP 6): everything held about the device holder with this email, as one .xlsx
        workbook (a README sheet, then a sheet per kind of record). The export is logged."""
        export = await privacy.export_person(caller, data.email, settings.retention_months)
        return Response(export.content, media_type=export.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})


ROUTERS = [DeviceController, AssignmentController, IncidentController, BreachAssessmentController,
           AttestationController, DeviceImportController, PrivacyController]
