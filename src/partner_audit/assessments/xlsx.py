"""The offline workbook: an assessment as an .xlsx file a provider fills in Excel or LibreOffice, and a filled
one read back.

Only the file format lives here: what goes in which cell on the way out, and what the cells hold on the way in.
What an upload may change (whose assessment, which versions, blank cells) is decided in
``services.workbook``, with the same rules as answers saved on the web.

Sheets: "Instructions" (shown first), "Questions" (one row per question; only the Answer and Comment cells are
unlocked), and two the person never needs to see: "Lists" (the drop-down choices, so a label may hold a comma)
and "About" (which assessment, template version and content the workbook was made from, and the version each
answer had, so an upload is matched to its assessment and a stale answer is caught rather than overwritten).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils.datetime import from_excel
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from partner_audit import spreadsheets
from partner_audit.controls.answers import TEXT_ANSWER_MAX
from partner_audit.controls.schemas import NA, OPTION_TYPES, Question, QuestionType, Template
from partner_audit.errors import DomainError, Invalid, TooLarge

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT = "partner-audit assessment workbook 1"
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 2000
# A real workbook of a few hundred questions unpacks to well under 1 MB, in a few hundred rows of at most a few
# dozen columns (the Lists sheet has one column per distinct set of answers).
LIMITS = spreadsheets.Limits(
    max_rows=MAX_ROWS + 100, max_columns=200, max_cells=100_000, max_strings=100_000,
    max_sheet_bytes=20 * 2**20, max_strings_bytes=20 * 2**20, max_part_bytes=4 * 2**20, max_unpacked_bytes=50 * 2**20)
COMMENT_MAX = 5000  # as AnswerIn.comment
MULTI_SEPARATOR = ";"

INSTRUCTIONS, QUESTIONS, LISTS, ABOUT = "Instructions", "Questions", "Lists", "About"
COLUMNS = (("A", "Id", 16), ("B", "Question", 60), ("C", "How to answer", 45), ("D", "Answer", 30),
           ("E", "Comment", 40), ("F", "Focus area", 22), ("G", "Control", 32))
ID, ANSWER, COMMENT = "A", "D", "E"
# Where "About" keeps what an upload is matched on.
ABOUT_CELLS = {"format": "B1", "assessment_id": "B2", "template_version_id": "B3", "content_hash": "B4"}
VERSIONS_HEADER_ROW = 7

BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="D9E1F2")
ANSWER_FILL = PatternFill("solid", start_color="FFF2CC")
WRAP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)


class NotAWorkbook(DomainError):
    status_code = 415
    title = "Not an .xlsx workbook"


# --- building ------------------------------------------------------------------------------------------


def build(assessment: dict[str, Any], template: Template, digest: str) -> bytes:
    """The workbook for ``assessment`` (as the service reads it, answers included), answered against
    ``template``, whose content hash is ``digest``."""
    answers = {a["question_id"]: a for a in assessment["answers"]}
    book = Workbook()
    _instructions(book.active, assessment, template)
    questions = book.create_sheet(QUESTIONS)
    lists = book.create_sheet(LISTS)
    about = book.create_sheet(ABOUT)
    _questions(questions, lists, template, answers)
    _about(about, assessment, digest, template, answers)
    for sheet in book.worksheets:
        sheet.protection.sheet = True
        # Widening a column or a row to read a long question is fine; the cells stay locked.
        sheet.protection.formatColumns = sheet.protection.formatRows = False
    lists.sheet_state = about.sheet_state = "veryHidden"
    book.security = WorkbookProtection(lockStructure=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _instructions(sheet: Worksheet, assessment: dict[str, Any], template: Template) -> None:
    sheet.title = INSTRUCTIONS
    sheet.column_dimensions["A"].width = 110
    lines = [
        f"{template.title}: self-assessment",
        f"Provider: {assessment['provider_name']}",
        f"Period: {assessment['period']}    Due: {assessment['due_on']}    Status when downloaded: "
        f"{assessment['status'].replace('_', ' ')}",
        f"Downloaded: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "How to fill this in",
        f"1. Answer each question on the {QUESTIONS} sheet in the Answer column (D). Add anything you want the "
        "reviewer to know in the Comment column (E). Only these two columns can be changed.",
        "2. Where the Answer cell has a drop-down list, choose one of its answers.",
        f'3. Where a question lets you choose several answers, type them separated by "{MULTI_SEPARATOR}", '
        "for example: first choice; second choice. The How to answer column lists them.",
        "4. Numbers: type the number only. Dates: type them as YYYY-MM-DD, for example 2025-03-31.",
        f'5. Where a question may not apply to you, the How to answer column says so: type "{NA}".',
        '6. A question marked "Only if ..." needs an answer only when that earlier answer is given.',
        "7. A blank cell leaves any answer already saved as it is. To remove a saved answer, use the web page.",
        "8. Evidence files are attached on the web page, not in this workbook.",
        "",
        "Sending it back",
        "9. Upload the workbook on the assessment's web page (or with PUT /api/v1/assessments/"
        f"{assessment['id']}/workbook). Every row is checked first: if any cell needs fixing, nothing is saved "
        "and you are told each cell, e.g. Questions!D14, and what is wrong with it.",
        "10. If a colleague changes an answer on the web after you downloaded this workbook, that row is reported "
        "rather than overwritten: download a fresh workbook, or change that answer on the web.",
        "11. Use the workbook downloaded for this assessment only: a workbook for another assessment, or for "
        "another version of the questions, is refused.",
        "12. The sheets are protected so the questions are not changed by accident. There is no password.",
    ]
    for row, line in enumerate(lines, start=1):
        cell = spreadsheets.put(sheet, f"A{row}", line or None)
        cell.alignment = WRAP
        if row == 1 or line in ("How to fill this in", "Sending it back"):
            cell.font = Font(bold=True, size=14 if row == 1 else 12)


def _questions(sheet: Worksheet, lists: Worksheet, template: Template, answers: dict[str, dict[str, Any]]) -> None:
    for column, title, width in COLUMNS:
        cell = spreadsheets.put(sheet, f"{column}1", title)
        cell.font, cell.fill = BOLD, HEADER_FILL
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    by_id = {q.id: q for _, _, q in template.questions()}
    choice_lists: dict[tuple[str, ...], str] = {}
    rows = template.questions()
    for row, (area, control, question) in enumerate(rows, start=2):
        answer = answers.get(question.id)
        spreadsheets.put(sheet, f"A{row}", question.id)
        spreadsheets.put(sheet, f"B{row}", question.text)
        spreadsheets.put(sheet, f"C{row}", _how_to_answer(question, by_id))
        spreadsheets.put(sheet, f"F{row}", area.title)
        spreadsheets.put(sheet, f"G{row}", control.title)
        for column in "ABCFG":
            sheet[f"{column}{row}"].alignment = WRAP
        answer_cell = spreadsheets.put(sheet, f"{ANSWER}{row}", _shown(question, answer["value"]) if answer else None)
        comment_cell = spreadsheets.put(sheet, f"{COMMENT}{row}", (answer["comment"] or None) if answer else None)
        for cell in (answer_cell, comment_cell):
            cell.protection, cell.fill, cell.alignment = UNLOCKED, ANSWER_FILL, WRAP
        answer_cell.number_format = ("yyyy-mm-dd" if question.type is QuestionType.date
                                     else "General" if question.type is QuestionType.number else "@")
        comment_cell.number_format = "@"
        validation = _validation(question, lists, choice_lists)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(answer_cell.coordinate)
    if rows:
        comments = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(COMMENT_MAX),
                                  allow_blank=True, showErrorMessage=True, errorTitle="Comment too long",
                                  error=f"A comment may be at most {COMMENT_MAX} characters.")
        sheet.add_data_validation(comments)
        comments.add(f"{COMMENT}2:{COMMENT}{len(rows) + 1}")


def _labels(question: Question) -> list[str]:
    return [o.label for o in question.options] + ([NA] if question.allow_na else [])


def _how_to_answer(question: Question, by_id: dict[str, Question]) -> str:
    """The help column: the template's help, what kind of answer fits, and when the question applies."""
    parts = [question.help] if question.help else []
    kind = question.type
    if kind is QuestionType.multi_choice:
        parts.append(f'Choose any of these, separated by "{MULTI_SEPARATOR}": '
                     + f"{MULTI_SEPARATOR} ".join(o.label for o in question.options) + ".")
    elif kind in OPTION_TYPES:
        parts.append("Choose from the list.")
    elif kind is QuestionType.number:
        parts.append(f"A number{_bounds(question)}.")
    elif kind is QuestionType.date:
        parts.append("A date, as YYYY-MM-DD.")
    else:
        parts.append(f"Text, at most {TEXT_ANSWER_MAX} characters.")
    if question.allow_na:
        parts.append(f'Type "{NA}" if it does not apply to you.')
    if not question.required:
        parts.append("Optional.")
    if question.evidence == "always":
        parts.append("Needs evidence: attach it on the web page.")
    elif question.evidence == "on_answers":
        chosen = " or ".join(o.label for o in question.options if o.value in question.evidence_on)
        parts.append(f"If you answer {chosen}, attach evidence on the web page.")
    if question.show_if is not None:
        target = by_id[question.show_if.question]
        shown = " or ".join(o.label for o in target.options if o.value in question.show_if.equals)
        parts.append(f'Only if the answer to {target.id} ("{target.text}") is {shown}.')
    return " ".join(parts)


def _bounds(question: Question) -> str:
    low, high = question.min, question.max
    if low is not None and high is not None:
        return f" from {spreadsheets.number_text(low)} to {spreadsheets.number_text(high)}"
    if low is not None:
        return f" of at least {spreadsheets.number_text(low)}"
    return f" of at most {spreadsheets.number_text(high)}" if high is not None else ""


def _validation(question: Question, lists: Worksheet, choice_lists: dict[tuple[str, ...], str]
                ) -> DataValidation | None:
    kind = question.type
    if kind in OPTION_TYPES and kind is not QuestionType.multi_choice:
        labels = tuple(_labels(question))
        if labels not in choice_lists:
            # One column of "Lists" per distinct set of answers: a label may hold a comma or a quote, which an
            # inline list would split or break, and every yes/no question shares one column.
            column = lists.cell(row=1, column=len(choice_lists) + 1).column_letter
            for row, label in enumerate(labels, start=1):
                spreadsheets.put(lists, f"{column}{row}", label)
            choice_lists[labels] = f"{LISTS}!${column}$1:${column}${len(labels)}"
        return DataValidation(type="list", formula1=choice_lists[labels], allow_blank=True, showErrorMessage=True,
                              errorTitle="Not one of the answers", error="Choose an answer from the list.")
    if question.allow_na:
        return None  # "n/a" is text: a number or date rule would refuse it; the upload checks the rest
    if kind is QuestionType.number and (question.min is not None or question.max is not None):
        if question.min is not None and question.max is not None:
            rule = {"operator": "between", "formula1": spreadsheets.number_text(question.min), "formula2": spreadsheets.number_text(question.max)}
        elif question.min is not None:
            rule = {"operator": "greaterThanOrEqual", "formula1": spreadsheets.number_text(question.min)}
        else:
            rule = {"operator": "lessThanOrEqual", "formula1": spreadsheets.number_text(question.max)}
        return DataValidation(type="decimal", allow_blank=True, showErrorMessage=True, errorTitle="Out of range",
                              error=f"Type a number{_bounds(question)}.", **rule)
    if kind is QuestionType.number:
        return DataValidation(type="decimal", operator="between", formula1="-1E+300", formula2="1E+300",
                              allow_blank=True, showErrorMessage=True, errorTitle="Not a number",
                              error="Type a number.")
    if kind is QuestionType.date:
        return DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)",
                              formula2="DATE(9999,12,31)", allow_blank=True, showErrorMessage=True,
                              errorTitle="Not a date", error="Type a date as YYYY-MM-DD, e.g. 2025-03-31.")
    if kind is QuestionType.text:
        return DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(TEXT_ANSWER_MAX),
                              allow_blank=True, showErrorMessage=True, errorTitle="Too long",
                              error=f"An answer may be at most {TEXT_ANSWER_MAX} characters.")
    return None  # multi_choice: several answers in one cell, which a list rule cannot allow


def _shown(question: Question, value: Any) -> Any:
    """A stored answer as a person reads it: option labels, a real date, the number itself."""
    if value is None:
        return None
    if value == NA:
        return NA
    if question.type is QuestionType.multi_choice:
        return f"{MULTI_SEPARATOR} ".join(o.label for o in question.options if o.value in value)
    if question.type in OPTION_TYPES:
        option = question.option(value)
        return option.label if option else value
    if question.type is QuestionType.date:
        return date.fromisoformat(value)
    return value


def _about(sheet: Worksheet, assessment: dict[str, Any], digest: str, template: Template,
           answers: dict[str, dict[str, Any]]) -> None:
    rows = [
        ("format", FORMAT),
        ("assessment_id", str(assessment["id"])),
        ("template_version_id", str(assessment["template_version_id"])),
        ("content_hash", digest),
        ("note", "partner-audit matches an uploaded workbook with these lines. Do not change this sheet."),
        (None, None),
        ("question_id", "answer version when downloaded (0: not answered yet)"),
    ]
    rows += [(q.id, answers[q.id]["version"] if q.id in answers else 0) for _, _, q in template.questions()]
    for number, (key, value) in enumerate(rows, start=1):
        spreadsheets.put(sheet, f"A{number}", key)
        spreadsheets.put(sheet, f"B{number}", value)


# --- reading -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A row of the Questions sheet with an answer or a comment; either is None when its cell is blank."""

    number: int
    question_id: str | None
    answer: Any
    comment: str | None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (cell, message): read errors

    @property
    def answer_cell(self) -> str:
        return f"{QUESTIONS}!{ANSWER}{self.number}"

    @property
    def comment_cell(self) -> str:
        return f"{QUESTIONS}!{COMMENT}{self.number}"

    @property
    def id_cell(self) -> str:
        return f"{QUESTIONS}!{ID}{self.number}"


@dataclass(frozen=True)
class Filled:
    about: dict[str, str]  # format, assessment_id, template_version_id, content_hash as found ("" if missing)
    versions: dict[str, int]  # question id -> the version of its answer when the workbook was downloaded
    rows: list[Row]


def read(content: bytes) -> Filled:
    """A filled workbook's rows with an answer or a comment in them. Raises TooLarge, NotAWorkbook, or Invalid
    when it is a workbook but not one of ours. Blocking: run it in a worker thread."""
    if len(content) > MAX_BYTES:
        raise TooLarge(f"The workbook is {len(content) / 1024 / 1024:.1f} MB; the largest accepted is "
                       f"{MAX_BYTES // 1024 // 1024} MB.", errors=[{"field": "file", "message": "is too large"}])
    kind = spreadsheets.kind_of(content)
    if kind != "xlsx":
        raise _not_a_workbook(_NOT_XLSX[kind])
    book = spreadsheets.open_xlsx(io.BytesIO(content), LIMITS, _not_a_workbook, data_only=False)
    try:
        missing = [name for name in (QUESTIONS, ABOUT) if name not in book.sheetnames]
        if missing:
            raise Invalid(
                f"This workbook has no {' or '.join(missing)} sheet, so it is not one downloaded from "
                "partner-audit. Download the assessment's workbook from its page, fill that in and upload it.",
                errors=[{"field": "file", "message": f"has no {name} sheet"} for name in missing])
        about, versions = _read_about(book[ABOUT])
        rows = _read_questions(book[QUESTIONS])
    except DomainError:
        raise
    except Exception as exc:  # the sheets are parsed lazily, while they are read
        raise _not_a_workbook("its sheets could not be read; it may be damaged") from exc
    finally:
        book.close()
    return Filled(about, versions, rows)


def _not_a_workbook(why: str) -> NotAWorkbook:
    return NotAWorkbook(f"The file is not an .xlsx workbook: {why}. Upload the workbook downloaded for this "
                        "assessment, saved as .xlsx (Excel Workbook).",
                        errors=[{"field": "file", "message": why}])


# What a person sent instead of a workbook, in words that say how to fix it.
_NOT_XLSX = {
    "xls": "it is an old-style Excel 97-2003 (.xls) file; save it as .xlsx",
    "text": "it is plain text (a CSV file?), not a workbook",
    "binary": "its contents are not a spreadsheet",
    "ods": "it is an OpenDocument (.ods) spreadsheet; save it as .xlsx",
    "zip": "it is a zip file, not a workbook",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return spreadsheets.restore(value.strip()) if isinstance(value, str) else str(value)


def _read_about(sheet: Any) -> tuple[dict[str, str], dict[str, int]]:
    about = {key: "" for key in ABOUT_CELLS}
    versions: dict[str, int] = {}
    for number, row in enumerate(sheet.iter_rows(max_col=2, values_only=True), start=1):
        key, value = (_text(v) for v in (*row, None, None)[:2])
        if number < VERSIONS_HEADER_ROW and key in about:
            about[key] = value
        elif number > VERSIONS_HEADER_ROW and key and value.isdigit():
            versions[key] = int(value)
    return about, versions


def _read_questions(sheet: Any) -> list[Row]:
    rows = []
    # Columns A to E: the id, the question and its help (not read back), the answer and the comment.
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=5), start=2):
        if number > MAX_ROWS + 1:
            raise Invalid.field(QUESTIONS, f"has more than {MAX_ROWS} rows; an assessment has far fewer "
                                           "questions. Download a fresh workbook.")
        cells = (*cells, None, None, None, None, None)[:5]
        question_id = _text(spreadsheets.value_of(cells[0])) or None
        answer, comment = (spreadsheets.restore(v) if isinstance(v, str) else v for v in (spreadsheets.value_of(cells[3]), spreadsheets.value_of(cells[4])))
        if answer is None and comment is None:
            continue  # blank cells change nothing, whatever the row's id
        problems = [(f"{QUESTIONS}!{column}{number}", "a formula is not an answer: type the answer itself")
                    for column, cell in ((ANSWER, cells[3]), (COMMENT, cells[4]))
                    if getattr(cell, "data_type", None) == "f"]
        if question_id is None:
            problems.append((f"{QUESTIONS}!{ID}{number}", "the question id is missing, so this row cannot be "
                             "matched to a question: put the id back, or copy the row from a fresh workbook"))
        rows.append(Row(number, question_id, answer, None if comment is None else spreadsheets.typed_text(comment), problems))
    return rows


def answer_from_cell(question: Question, raw: Any) -> Any:
    """What a person typed, in the form ``controls.normalise_answer`` takes for ``question``."""
    if isinstance(raw, str):
        raw = raw.strip()
    if question.type is QuestionType.multi_choice and isinstance(raw, str) and raw.lower() != NA:
        return [part.strip() for part in raw.split(MULTI_SEPARATOR) if part.strip()]
    if question.type is QuestionType.date and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return from_excel(raw)  # a date cell that lost its date format on the way holds its serial number
    if question.type is QuestionType.text and raw is not None:
        return spreadsheets.typed_text(raw)
    return raw
