"""The answer to a Privacy Act request as a workbook: a "README" sheet first (what the file is, the request's
reference, what each sheet holds and how many rows), then one sheet per kind of record. What goes in it, and
why a workbook, is in ``services.privacy``. Times are in UTC, and the headers say so.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from partner_audit import spreadsheets

# (header, key) per sheet, in the order the person reads them. Keys are the query's column names.
ASSIGNMENT_COLUMNS = (
    ("Assignment id", "id"), ("Device asset tag", "asset_tag"), ("Device kind", "device_kind"),
    ("Device make", "device_make"), ("Device model", "device_model"), ("Device serial", "device_serial"),
    ("Provider", "provider_name"), ("Name", "holder_name"), ("Email", "holder_email"), ("Phone", "holder_phone"),
    ("Role", "holder_role"), ("Purpose", "purpose"), ("Systems reached with the device", "systems"),
    ("Starts on", "starts_on"), ("Expected back on", "expected_return_on"), ("Returned on", "returned_on"),
    ("Condition on return", "return_condition"), ("Personal data wiped", "data_wiped"), ("Wiped by", "wiped_by"),
    ("Recorded at (UTC)", "created_at"), ("Closed at (UTC)", "closed_at"), ("Redacted at (UTC)", "redacted_at"),
)
ATTESTATION_COLUMNS = (
    ("Attestation id", "id"), ("Assignment id", "assignment"), ("How", "method"),
    ("Still holds the device", "holds_device"), ("Authorised use only", "authorised_use_only"),
    ("Notes", "notes"), ("Attested at (UTC)", "attested_at"),
)
LINK_COLUMNS = (
    ("Link id", "id"), ("Assignment id", "assignment"), ("Sent at (UTC)", "created_at"),
    ("Expires at (UTC)", "expires_at"), ("Used at (UTC)", "used_at"),
)
INCIDENT_COLUMNS = (
    ("Incident id", "id"), ("Assignment id", "assignment"), ("Device asset tag", "asset_tag"), ("Kind", "kind"),
    ("Happened at (UTC)", "occurred_at"), ("Reported at (UTC)", "reported_at"), ("Reported by", "reported_by"),
    ("Where", "location"), ("Information at risk", "information_at_risk"), ("What happened", "description"),
)
BREACH_COLUMNS = (
    ("Assessment id", "id"), ("Incident id", "incident"), ("Status", "status"), ("Due at (UTC)", "due_at"),
    ("Serious harm likely", "serious_harm_likely"), ("Assessed at (UTC)", "assessed_at"),
    ("Privacy Commissioner notified at (UTC)", "commissioner_notified_at"),
    ("You were notified at (UTC)", "individuals_notified_at"), ("Notes", "notes"),
)
EMAIL_COLUMNS = (
    ("Email id", "id"), ("To", "to_address"), ("Subject", "subject"), ("Message", "body"),
    ("Written at (UTC)", "created_at"), ("Sent at (UTC)", "sent_at"),
)
ACCESS_COLUMNS = (
    ("Entry number", "seq"), ("At (UTC)", "at"), ("Who (account)", "email"), ("Their role", "role"),
    ("What they did", "action"), ("Record kind", "record_type"), ("Record id", "record_id"),
    ("Outcome", "outcome"), ("Detail", "detail"),
)

# Sheet name, what it holds (for the README), columns.
SHEETS = (
    ("Assignments", "each time an agency device was assigned to you", ASSIGNMENT_COLUMNS),
    ("Attestations", "your confirmations that you still held a device and used it only for authorised work",
     ATTESTATION_COLUMNS),
    ("Attestation links", "the single-use links sent to you to attest (the links themselves are not kept)",
     LINK_COLUMNS),
    ("Incidents", "incidents (loss, theft, damage, misuse, near misses) involving a device assigned to you",
     INCIDENT_COLUMNS),
    ("Breach assessments", "the privacy-breach assessment of each of those incidents", BREACH_COLUMNS),
    ("Emails", "email the service wrote to you", EMAIL_COLUMNS),
    ("Access log", "every recorded read or change of the records above: who, when, what, with what outcome",
     ACCESS_COLUMNS),
)

BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def _sheet(sheet: Worksheet, columns: tuple[tuple[str, str], ...], rows: list[dict[str, Any]]) -> None:
    sheet.append([header for header, _ in columns])
    for cell in sheet[1]:
        cell.font = BOLD
    for row in rows:
        sheet.append([spreadsheets.export_value(row[key]) for _, key in columns])
    for index, (header, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(50, len(header) + 4))
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"


def _readme(sheet: Worksheet, email: str, reference: uuid.UUID, made_at: datetime, retention_months: int,
            counts: dict[str, int]) -> None:
    lines: list[list[Any]] = [
        ["Your information held in the agency's device register"],
        [],
        ["Requested for", spreadsheets.cell(email)],
        ["Produced at (UTC)", made_at.astimezone(UTC).replace(tzinfo=None)],
        ["Reference", str(reference)],
        [],
        [("This file answers a request under the Privacy Act 2020 (information privacy principle 6) for the "
          "information the agency's device register holds about you. Each sheet holds one kind of record:")],
        [],
        ["Sheet", "What it holds", "Rows"],
        *([name, about, counts[name]] for name, about, _ in SHEETS),
        [],
        [(f"Your name and contact details are removed from an assignment {retention_months} months after the "
          "device came back; the rest of the record is kept for reporting.")],
        ["You may ask for any of this information to be corrected (information privacy principle 7)."],
    ]
    for line in lines:
        sheet.append(line)
    sheet["A1"].font = BOLD
    for cell in sheet[9]:
        cell.font = BOLD
    sheet["B4"].number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 90
    for row in sheet.iter_rows(min_row=10, max_row=9 + len(SHEETS), min_col=2, max_col=2):
        row[0].alignment = WRAP


def person_workbook(email: str, reference: uuid.UUID, made_at: datetime, retention_months: int,
                    held: dict[str, list[dict[str, Any]]]) -> bytes:
    """``held``: the rows of each sheet, by sheet name; each row's keys are the sheet's column keys."""
    book = Workbook()
    readme = book.active
    readme.title = "README"
    counts = {name: len(held[name]) for name, _, _ in SHEETS}
    _readme(readme, email, reference, made_at, retention_months, counts)
    for name, _, columns in SHEETS:
        _sheet(book.create_sheet(name), columns, held[name])
    return spreadsheets.workbook_bytes(book)
