"""The offline workbook: an assessment downloaded as .xlsx to fill in, and a filled one applied with the same
rules as answers saved on the web. The file format itself is ``assessments.xlsx``'s."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from uuid import UUID

from partner_audit import plaintext, spreadsheets
from partner_audit.assessments import xlsx
from partner_audit.assessments.schemas import AnswerIn
from partner_audit.assessments.services.answers import save_answers
from partner_audit.assessments.services.assessments import (
    EDITABLE,
    S,
    answer_out,
    get_assessment,
    template_for,
    visible_assessment,
)
from partner_audit.assessments.tables import Answer
from partner_audit.controls import service as controls
from partner_audit.controls.answers import normalise_answer
from partner_audit.errors import Conflict, DomainError, Invalid
from partner_audit.plaintext import LINES
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller


def filename(assessment: dict[str, Any]) -> str:
    """Provider and period, in letters, digits and dashes only: safe in a header and on any file system."""
    name = unicodedata.normalize("NFKD", assessment["provider_name"]).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:60].strip("-") or "provider"
    period = re.sub(r"[^A-Za-z0-9]+", "-", assessment["period"])
    return f"{name}-{period}-self-assessment.xlsx"


async def download(caller: Caller, assessment_id: UUID) -> tuple[bytes, str]:
    """The assessment as a workbook to fill in offline, with the answers so far, and its file name."""
    assessment = await get_assessment(caller, assessment_id)
    template, _ = await template_for(assessment["template_version_id"])
    return xlsx.build(assessment, template, controls.content_hash(template)), filename(assessment)


async def import_workbook(caller: Caller, assessment_id: UUID, content: bytes) -> list[dict[str, Any]]:
    """Apply a filled offline workbook (``xlsx``): every row is checked first, then the answers all land through
    ``save_answers`` or none do. A blank cell leaves the saved answer alone, and a row that changes nothing is
    not saved again. The workbook carries each answer's version when it was downloaded: an answer someone has
    changed since is reported, not overwritten. Returns the answers saved."""
    policies.ANSWER_ASSESSMENT.check(caller)
    action = "assessment.workbook_upload"
    # The file is read and checked outside any transaction: a transaction held while a workbook is parsed would
    # hold every other writer (on SQLite, everyone signing in) for as long as the parse takes.
    provider_id = None
    try:
        provider_id = (await visible_assessment(caller, assessment_id))["provider_id"]  # a foreign id: 404, file unread
        book = await spreadsheets.in_worker(xlsx.read, content)
    except DomainError as exc:
        await access_log.record_refusal(caller, action, "assessment", assessment_id, provider_id, exc)
        raise
    async with access_log.audited(caller, action, "assessment", assessment_id) as audit:
        assessment = await visible_assessment(caller, assessment_id)
        audit.provider_id = assessment["provider_id"]
        if S(assessment["status"]) not in EDITABLE:
            raise Conflict(f"This assessment is {assessment['status']} and cannot be changed.")
        template, questions = await template_for(assessment["template_version_id"])
        _require_for(book, assessment, controls.content_hash(template))
        stored = {a["question_id"]: answer_out(a) for a in await Answer.select().where(
            Answer.assessment == assessment_id).run()}
        errors: list[dict[str, str]] = []
        stale: list[dict[str, str]] = []
        items: list[AnswerIn] = []
        rows_of: dict[str, int] = {}
        for row in book.rows:
            errors += [{"field": cell, "message": message} for cell, message in row.problems]
            if row.question_id in rows_of:
                errors.append({"field": row.id_cell, "message": f"{row.question_id} is also on row "
                                                                f"{rows_of[row.question_id]}: answer it once"})
                continue
            if row.question_id is not None:
                rows_of[row.question_id] = row.number
            if row.problems:
                continue
            question = questions.get(row.question_id)
            if question is None:
                errors.append({"field": row.id_cell, "message": f'there is no question "{row.question_id}" in '
                                                                "this assessment"})
                continue
            current = stored.get(row.question_id)
            value = current["value"] if current else None
            if row.answer is not None:
                try:
                    value = normalise_answer(question, xlsx.answer_from_cell(question, row.answer))
                except Invalid as exc:
                    errors.append({"field": row.answer_cell,
                                   "message": exc.errors[0]["message"] if exc.errors else exc.detail})
                    continue
            comment = row.comment if row.comment is not None else (current["comment"] if current else "")
            if len(comment) > xlsx.COMMENT_MAX:
                errors.append({"field": row.comment_cell, "message": f"is too long ({len(comment)} characters; "
                                                                     f"at most {xlsx.COMMENT_MAX})"})
                continue
            # The cells' text, checked as an answer typed on the web is (api.Input) before it becomes one.
            bad = plaintext.problem_in(value, LINES, row.answer_cell) or plaintext.problem_in(comment, LINES,
                                                                                              row.comment_cell)
            if bad:
                errors.append({"field": bad[0], "message": bad[1]})
                continue
            if current is not None and (value, comment) == (current["value"], current["comment"]):
                continue
            version = current["version"] if current else 0
            if book.versions.get(row.question_id, 0) != version:
                stale.append({"field": row.answer_cell if row.answer is not None else row.comment_cell,
                              "message": f"{row.question_id} was changed on the web after this workbook was "
                                         f"downloaded (it is now version {version}); download a fresh workbook "
                                         "or change this answer on the web"})
                continue
            items.append(AnswerIn(question_id=row.question_id, value=value, comment=comment, version=version))
        if errors:
            raise Invalid(f"{len(errors)} cell(s) in the workbook need fixing; nothing was saved.",
                          errors=errors + stale)
        if stale:
            raise Conflict(f"{len(stale)} answer(s) were changed by someone else after this workbook was "
                           "downloaded; nothing was saved.", errors=stale)
        audit.details.append(f"{len(items)} answer(s) changed, from rows of a workbook")
        return await save_answers(caller, assessment_id, items) if items else []


def _require_for(book: xlsx.Filled, assessment: dict[str, Any], digest: str) -> None:
    """Refuse a workbook downloaded for another assessment, or made from other template content than
    ``assessment`` is answered against (``digest``: that content's hash)."""
    found, where = book.about, lambda key: f"{xlsx.ABOUT}!{xlsx.ABOUT_CELLS[key]}"
    if found["format"] != xlsx.FORMAT:
        raise Invalid("This workbook's About sheet does not say which assessment it is for. Download a fresh "
                      "workbook from the assessment's page and upload that.",
                      errors=[{"field": where("format"), "message": f"is not {xlsx.FORMAT!r}"}])
    if found["assessment_id"] != str(assessment["id"]):
        raise Conflict(
            "This workbook was downloaded for a different assessment, so none of it was applied. Download the "
            "workbook from this assessment's page, copy your answers into it, and upload that.",
            errors=[{"field": where("assessment_id"),
                     "message": f"is {found['assessment_id'] or 'empty'}, not {assessment['id']}"}])
    if found["template_version_id"] != str(assessment["template_version_id"]) or found["content_hash"] != digest:
        raise Conflict(
            "This workbook was made from another version of the questions than this assessment uses, so none "
            "of it was applied. Download a fresh workbook from the assessment's page.",
            errors=[{"field": where("template_version_id"),
                     "message": "does not match this assessment's template version"}])
