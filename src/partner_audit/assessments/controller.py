"""HTTP for rollouts and assessments: thin, the rules are in ``services``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody

from partner_audit.api import Page, Paging, download, file_download, reads, stored_download, stored_download_responses, to
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
    EvidenceUpload,
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
from partner_audit.uploads import EXTENSIONS, form_fields_first


class RolloutController(Controller):
    path = "/rollouts"
    tags = ["Rollouts"]

    @get("/", guards=[policies.SEE_ROLLOUTS.guard], summary="List rollouts")
    async def list_rollouts(self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]) -> Page[RolloutOut]:
        """Every rollout of a self-assessment to providers, newest first."""
        rows, total = await rollouts.list_rollouts(caller, paging)
        return Page.of(rows, total, paging, RolloutOut)

    @post("/", guards=[policies.PLAN_ROLLOUT.guard], status_code=201, summary="Plan a rollout")
    async def create_rollout(self, caller: NamedDependency[Caller], data: JSONBody[RolloutCreate]) -> RolloutOut:
        """Plan a rollout: a template version, a period, dates, and which providers. Nothing is sent until launch."""
        return to(RolloutOut, await rollouts.create_rollout(caller, data))

    @get("/{rollout_id:uuid}", guards=[policies.SEE_ROLLOUTS.guard], summary="Get a rollout")
    async def get_rollout(self, caller: NamedDependency[Caller], rollout_id: FromPath[UUID]) -> RolloutOut:
        """With progress: counts by status, overdue, percent accepted."""
        return to(RolloutOut, await rollouts.get_rollout(caller, rollout_id))

    @post("/{rollout_id:uuid}/launch", guards=[policies.LAUNCH_ROLLOUT.guard], status_code=200,
          summary="Launch a rollout")
    async def launch(self, caller: NamedDependency[Caller], rollout_id: FromPath[UUID]) -> LaunchOut:
        """Create an assessment for each matching provider. Safe to repeat: only new matches are added."""
        return to(LaunchOut, await rollouts.launch(caller, rollout_id))


class AssessmentController(Controller):
    path = "/assessments"
    tags = ["Assessments"]

    @get("/", guards=[policies.SEE_ASSESSMENTS.guard], summary="List assessments")
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
        """Self-assessments, filtered by rollout, provider, status, period or overdue. A provider's people see
        their own provider's."""
        flt = AssessmentFilter(rollout_id, provider_id, status, period, overdue)
        rows, total = await assessments.list_assessments(caller, flt, paging)
        return Page.of(rows, total, paging, AssessmentOut)

    @get("/{assessment_id:uuid}", guards=[policies.SEE_ASSESSMENTS.guard], summary="Read an assessment",
         description=(
             "The assessment as its provider sees it. `areas` is the questionnaire in the template's order: each "
             "focus area with its `progress`, its controls, and their questions, each with its `answer` (or null), "
             "whether it is `shown` (its `show_if` holds, given the answers), `required`, `answered`, whether its "
             "answer `needs_evidence` and it `has_evidence` (a file not past its expiry; its files are in "
             "`evidence`), everything it is `missing` before the assessment can be submitted (as submitting names "
             "it, an unconfirmed carried answer included), its comment thread (`comments`), and whether a reviewer "
             "`raised` it and it was `answered_since_raised` (a reply by the provider's people, a changed or "
             "confirmed answer, or a file attached after the reviewer's last comment). `progress` counts the whole assessment; "
             "`raised_awaiting_answer` counts the raised questions not answered since. The flat `answers`, "
             "`comments` and `evidence` lists are kept for earlier clients. A provider's people see only their "
             "own provider's assessments: any other id is 404."))
    async def get_assessment(self, caller: NamedDependency[Caller],
                             assessment_id: FromPath[UUID]) -> AssessmentDetail:
        return to(AssessmentDetail, await assessments.get_assessment(caller, assessment_id))

    @put("/{assessment_id:uuid}/answers", guards=[policies.ANSWER_ASSESSMENT.guard], summary="Save answers")
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

    @post("/{assessment_id:uuid}/submit", guards=[policies.SUBMIT_ASSESSMENT.guard], status_code=200,
          summary="Submit an assessment")
    async def submit(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID]) -> AssessmentOut:
        """Send the assessment to the reviewers. A 422 lists every missing answer and missing piece of evidence (expired files do not count), and every
        answer carried from the last accepted assessment that is shown and not yet confirmed."""
        return to(AssessmentOut, await review.submit(caller, assessment_id))

    @post("/{assessment_id:uuid}/return", guards=[policies.RETURN_ASSESSMENT.guard], status_code=200,
          summary="Return an assessment")
    async def return_to_provider(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                                 data: JSONBody[DecisionIn]) -> AssessmentOut:
        """Send a submitted assessment back to the provider, with the reason, to change and submit again."""
        return to(AssessmentOut, await review.return_to_provider(caller, assessment_id, data.reason))

    @post("/{assessment_id:uuid}/accept", guards=[policies.ACCEPT_ASSESSMENT.guard], status_code=200,
          summary="Accept an assessment")
    async def accept(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                     data: JSONBody[AcceptIn]) -> AssessmentOut:
        """Accept a submitted assessment, with an optional note. Accepted locks the assessment."""
        return to(AssessmentOut, await review.accept(caller, assessment_id, data.note))

    @post("/{assessment_id:uuid}/reopen", guards=[policies.REOPEN_ASSESSMENT.guard], status_code=200,
          summary="Reopen an assessment")
    async def reopen(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                     data: JSONBody[DecisionIn]) -> AssessmentOut:
        """Reopen an accepted assessment for changes, with the reason."""
        return to(AssessmentOut, await review.reopen(caller, assessment_id, data.reason))

    @post("/{assessment_id:uuid}/comments", guards=[policies.COMMENT_ON_ASSESSMENT.guard], status_code=201,
          summary="Comment on an assessment, or reply",
          description=(
              "A comment in the thread of one question (`question_id`), or of the whole assessment (no "
              "`question_id`). Reviewers (auditors, admins) and the provider's own people write in it; a "
              "reviewer's comment raises the question, a reply from the provider's people answers it. `reply_to` "
              "names the comment this one answers: it must be on the same assessment and question, else 422. "
              "The provider's people comment while the assessment is not started, in progress or returned; "
              "reviewers also while it is submitted. An accepted assessment is locked (409): reopen it first. "
              "Each comment shows its `author` (name, or email when they gave none, and the role they wrote "
              "as). Another provider's assessment is 404."))
    async def add_comment(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID],
                          data: JSONBody[CommentIn]) -> CommentOut:
        return to(CommentOut, await review.add_comment(caller, assessment_id, data.question_id, data.body,
                                                       data.reply_to))

    @get("/{assessment_id:uuid}/workbook", guards=[policies.SEE_ASSESSMENTS.guard], summary="Download the workbook",
         responses={200: download(xlsx.MEDIA_TYPE, description="The .xlsx workbook.")})
    async def download_workbook(self, caller: NamedDependency[Caller], assessment_id: FromPath[UUID]) -> Response:
        """The assessment as an .xlsx workbook to fill in offline, in Excel or LibreOffice, with the answers so
        far; upload it back with PUT."""
        content, filename = await workbook.download(caller, assessment_id)
        return file_download(content, filename, xlsx.MEDIA_TYPE)

    # The limit leaves room for the form around a workbook of the largest size read (10 MB), so a workbook just
    # over it is told its size rather than a bare 413.
    @put("/{assessment_id:uuid}/workbook", guards=[policies.ANSWER_ASSESSMENT.guard], summary="Upload the workbook",
         request_max_body_size=xlsx.MAX_BYTES + 2**20)
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

    # The body streams to the store, so the route reads the request itself; ``reads`` documents the form.
    @post("/assessments/{assessment_id:uuid}/evidence", guards=[policies.ATTACH_EVIDENCE.guard], status_code=201,
          request_max_body_size=None, summary="Upload evidence",
          opt=reads({"multipart/form-data": EvidenceUpload}, "The question, then the file, as a form."))
    async def attach(self, caller: NamedDependency[Caller], request: Request, settings: NamedDependency[Settings],
                     store: NamedDependency[EvidenceStore], assessment_id: FromPath[UUID]) -> EvidenceOut:
        """multipart/form-data: a `question_id` field and, optionally, an `expires_on` field (YYYY-MM-DD: the
        last day the file is good evidence, e.g. a policy reviewed annually; not a past date), then the `file` (at
        most `PA_MAX_UPLOAD_MB`). The file streams to the evidence store; its type is checked from its bytes (PDF,
        images, Office documents, text, CSV), and a file that is not what it claims to be is refused (415). After
        `expires_on` the file is shown as expired and no longer counts as evidence."""
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

    @get("/evidence/{evidence_id:uuid}/download", guards=[policies.DOWNLOAD_EVIDENCE.guard],
         summary="Download evidence", responses=stored_download_responses(EXTENSIONS))
    async def download(self, caller: NamedDependency[Caller], store: NamedDependency[EvidenceStore],
                       evidence_id: FromPath[UUID]) -> Response:
        """The file as uploaded, under its name. On S3, a redirect to a link valid for five minutes; otherwise the
        file itself."""
        row = await evidence.evidence_for_download(caller, evidence_id)
        return stored_download(store, row["storage_key"], row["filename"], row["content_type"], row["size"])

    @delete("/evidence/{evidence_id:uuid}", guards=[policies.REMOVE_EVIDENCE.guard], status_code=204,
            summary="Remove evidence")
    async def remove(self, caller: NamedDependency[Caller], store: NamedDependency[EvidenceStore],
                     evidence_id: FromPath[UUID]) -> None:
        """Remove a piece of evidence while the assessment is being worked on. The stored file is deleted with the
        last evidence row naming it (a file carried into a later period is shared, not copied)."""
        await evidence.remove_evidence(caller, store, evidence_id)


ROUTERS = [RolloutController, AssessmentController, EvidenceController]
