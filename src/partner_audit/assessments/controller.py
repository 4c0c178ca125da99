"""HTTP for rollouts and assessments: thin, the rules are in ``services``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody

from partner_audit.api import Page, Paging, file_download, stored_download, to
from partner_audit.assessments import xlsx
from partner_audit.assessments.schemas import (
    AcceptIn,
    AnswerOut,
    AnswersIn,
    AssessmentDetail,
    AssessmentFilter,
    AssessmentOut,
    AssessmentStatus,
    CommentIn,
    CommentOut,
    ConfirmIn,
    DecisionIn,
    EvidenceChange,
    EvidenceOut,
    LaunchOut,
    Period,
    RolloutCreate,
    RolloutOut,
    WorkbookUpload,
)
from partner_audit.assessments.services import answers, assessments, carry, evidence, review, rollouts, workbook
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings
from partner_audit.storage import EvidenceStore
from partner_audit.uploads import form_fields_first


class RolloutController(Controller):
    path = "/rollouts"
    tags = ["Rollouts"]

    @get("/", guards=[policies.SEE_ROLLOUTS.guard])
    async def list_rollouts(self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]) -> Page[RolloutOut]:
        rows, total = await rollouts.list_rollouts(caller, paging)
        return Page.of(rows, total, paging, RolloutOut)

    @post("/", guards=[policies.PLAN_ROLLOUT.guard], status_code=201)
    async def create_rollout(self, caller: NamedDependency[Caller], data: JSONBody[RolloutCreate]) -> RolloutOut:
        """Plan a rollout: a template version, a period, dates, and which providers. Nothing is sent until launch."""
        return to(RolloutOut, await rollouts.create_rollout(caller, data))

    @get("/{rollout_id:uuid}", guards=[policies.SEE_ROLLOUTS.guard])
    async def get_rollout(self, caller: NamedDependency[Caller], rollout_id: FromPath[UUID]) -> RolloutOut:
        """With progress: counts by status, overdue, percent accepted."""
        return to(RolloutOut, await rollouts.get_rollout(caller, rollout_id))

    @post("/{rollout_id:uuid}/launch", guards=[policies.LAUNCH_ROLLOUT.guard], status_code=200)
    async def launch(self, caller: NamedDependency[Caller], rollout_id: FromPath[UUID]) -> LaunchOut:
        """Create an assessment for each matching provider. Safe to repeat: only new matches are added."""
        return to(LaunchOut, await rollouts.launch(caller, rollout_id))


class AssessmentController(Controller):
    path = "/assessments"
    tags = ["Assessments"]

    @get("/", guards=[policies.SEE_ASSESSMENTS.guard])
    async def list_assessments(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        rollout_id: FromQuery[UUID | None] = None,
        provider_id: FromQuery[UUID | None] = None,
        status: FromQuery[AssessmentStatus | None] = None,
        period: FromQuery[Period | None] = None,
        overdue: FromQuery[bool | None] = None,
    ) -> Page[AssessmentOut]:
        flt = AssessmentFilter(rollout_id, provider_id, status, period, overdue)
        rows, total = await assessments.list_assessments(caller, flt, paging)
        return Page.of(rows, total, paging, AssessmentOut)

    @get("/{assessment_id:uuid}", guards=[policies.SEE_ASSESSMENTS.guard])
    async def get_assessment(self, caller: NamedDependency[Caller],
                             assessment_id: FromPath[UUID]) -> AssessmentDetail:
        """The assessment with its answers, reviewer comments and evidence list."""
        return to(AssessmentDetail, await assessments.get_assessment(caller, assessment_id))

    @put("/{assessment_id:uuid}/answers", guards=[policies.ANSWER_ASSESSMENT.guard])
    async def save_answers(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                           data: JSONBody[AnswersIn]) -> list[AnswerOut]:
        """Save one or many answers, all or none. Send the `version` you edited (0 for a new answer): if someone
        saved in between, the answer is 409 with their current value and nothing is saved."""
        return [to(AnswerOut, r) for r in await answers.save_answers(caller, assessment_id, data.answers)]

    @post("/{assessment_id:uuid}/answers/confirm", guards=[policies.CONFIRM_ANSWERS.guard], status_code=200,
          summary="Confirm carried answers unchanged",
          description="When a provider's next assessment of a template opens, the answers and evidence of their "
                      "last accepted assessment of it are carried in, each answer with `confirmed: false` and "
                      "`carried_from`/`carried_from_period` naming where it came from. Confirm them here, one or "
                      "many by question id, or change one by saving it (PUT .../answers), which confirms it too. "
                      "All or none: a question id that is not in the template, or whose answer was not carried, is "
                      "a 422 naming it and nothing is confirmed. Confirming one already confirmed changes nothing. "
                      "Only while the assessment is being worked on (409 otherwise). Returns the answers named.")
    async def confirm_answers(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                              data: JSONBody[ConfirmIn]) -> list[AnswerOut]:
        return [to(AnswerOut, r) for r in await carry.confirm(caller, assessment_id, data.question_ids)]

    @post("/{assessment_id:uuid}/submit", guards=[policies.SUBMIT_ASSESSMENT.guard], status_code=200)
    async def submit(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID]) -> AssessmentOut:
        """422 lists every missing answer and missing piece of evidence (expired files do not count), and every
        answer carried from the last accepted assessment that is shown and not yet confirmed."""
        return to(AssessmentOut, await review.submit(caller, assessment_id))

    @post("/{assessment_id:uuid}/return", guards=[policies.RETURN_ASSESSMENT.guard], status_code=200)
    async def return_to_provider(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                                 data: JSONBody[DecisionIn]) -> AssessmentOut:
        return to(AssessmentOut, await review.return_to_provider(caller, assessment_id, data.reason))

    @post("/{assessment_id:uuid}/accept", guards=[policies.ACCEPT_ASSESSMENT.guard], status_code=200)
    async def accept(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                     data: JSONBody[AcceptIn]) -> AssessmentOut:
        """Accepted locks the assessment."""
        return to(AssessmentOut, await review.accept(caller, assessment_id, data.note))

    @post("/{assessment_id:uuid}/reopen", guards=[policies.REOPEN_ASSESSMENT.guard], status_code=200)
    async def reopen(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                     data: JSONBody[DecisionIn]) -> AssessmentOut:
        return to(AssessmentOut, await review.reopen(caller, assessment_id, data.reason))

    @post("/{assessment_id:uuid}/comments", guards=[policies.COMMENT_ON_ASSESSMENT.guard], status_code=201)
    async def add_comment(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                          data: JSONBody[CommentIn]) -> CommentOut:
        """A reviewer's comment, on one question or on the whole assessment."""
        return to(CommentOut, await review.add_comment(caller, assessment_id, data.question_id, data.body))

    @get("/{assessment_id:uuid}/workbook", guards=[policies.SEE_ASSESSMENTS.guard])
    async def download_workbook(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID]) -> Response:
        """The assessment as an .xlsx workbook to fill in offline, in Excel or LibreOffice, with the answers so
        far; upload it back with PUT."""
        content, filename = await workbook.download(caller, assessment_id)
        return file_download(content, filename, xlsx.MEDIA_TYPE)

    # The limit leaves room for the form around a workbook of the largest size read (10 MB), so a workbook just
    # over it is told its size rather than a bare 413.
    @put("/{assessment_id:uuid}/workbook", guards=[policies.ANSWER_ASSESSMENT.guard], request_max_body_size=xlsx.MAX_BYTES + 2**20)
    async def upload_workbook(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                              data: MultipartBody[WorkbookUpload]) -> list[AnswerOut]:
        """multipart/form-data with the filled workbook in a field named `file` (an .xlsx of at most 10 MB).
        Every row is checked first: any wrong cell is a 422 naming each cell (`Questions!D14`) and nothing is
        saved. Blank cells keep the saved answers. A workbook for another assessment or template version, or
        with answers changed on the web since it was downloaded, is a 409. Returns the answers it changed."""
        content = await data.file.read()
        return [to(AnswerOut, r) for r in await workbook.import_workbook(caller, assessment_id, content)]


class EvidenceController(Controller):
    path = "/"
    tags = ["Evidence"]

    @post("/assessments/{assessment_id:uuid}/evidence", guards=[policies.ATTACH_EVIDENCE.guard], status_code=201,
          request_max_body_size=None)
    async def attach(self, caller: NamedDependency[Caller], request: Request, settings: NamedDependency[Settings],
                     store: NamedDependency[EvidenceStore], assessment_id: FromPath[UUID]) -> EvidenceOut:
        """multipart/form-data: a `question_id` field and, optionally, an `expires_on` field (YYYY-MM-DD: the
        last day the file is good evidence, e.g. a policy reviewed annually; not a past date), then the `file`.
        The file streams to the evidence store; its type is checked from its bytes (PDF, images, Office documents,
        text, CSV). After `expires_on` the file is shown as expired and no longer counts as evidence."""
        form, fields = await form_fields_first(request, "question_id")
        row = await evidence.attach_evidence(caller, store, assessment_id, fields["question_id"], form.filename,
                                             form.chunks(), settings.max_upload_bytes, fields.get("expires_on"))
        return to(EvidenceOut, row)

    @patch("/evidence/{evidence_id:uuid}", guards=[policies.DESCRIBE_EVIDENCE.guard],
           summary="Set when a piece of evidence expires",
           description="`{\"expires_on\": \"2026-06-30\"}` sets the last day the file is good evidence (not a past "
                       "date); `null` clears it. After that day the file is shown as `expired` and no longer "
                       "satisfies a question that needs evidence. Only while the assessment is being worked on "
                       "(409 otherwise). A file carried from an earlier period is this assessment's own row: "
                       "changing it leaves the earlier assessment's row alone.")
    async def change(self, caller: NamedDependency[Caller], evidence_id: FromPath[UUID],
                     data: JSONBody[EvidenceChange]) -> EvidenceOut:
        return to(EvidenceOut, await evidence.change_evidence(caller, evidence_id, data.expires_on))

    @get("/evidence/{evidence_id:uuid}/download", guards=[policies.DOWNLOAD_EVIDENCE.guard])
    async def download(self, caller: NamedDependency[Caller], store: NamedDependency[EvidenceStore],
                       evidence_id: FromPath[UUID]) -> Response:
        """On S3, a redirect to a link valid for five minutes; otherwise the file itself."""
        row = await evidence.evidence_for_download(caller, evidence_id)
        return stored_download(store, row["storage_key"], row["filename"], row["content_type"], row["size"])

    @delete("/evidence/{evidence_id:uuid}", guards=[policies.REMOVE_EVIDENCE.guard], status_code=204)
    async def remove(self, caller: NamedDependency[Caller], store: NamedDependency[EvidenceStore],
                     evidence_id: FromPath[UUID]) -> None:
        """Only while the assessment is being worked on. The stored file is deleted with the last evidence row
        naming it (a file carried into a later period is shared, not copied)."""
        await evidence.remove_evidence(caller, store, evidence_id)


ROUTERS = [RolloutController, AssessmentController, EvidenceController]
