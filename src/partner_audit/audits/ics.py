"""Audits as an iCalendar feed (RFC 5545), with the ``icalendar`` package: values in, bytes out, no database.

A feed is published, not an invitation (``METHOD:PUBLISH``): calendar clients subscribe to it and poll. Each audit
is one VEVENT whose UID never changes (``<audit id>@partner-audit``) and whose SEQUENCE is the audit's own
(``Audit.sequence``, raised by the audits service on every change a calendar shows), so a client replaces its copy
instead of adding a second. A cancelled audit stays in the feed with ``STATUS:CANCELLED``: dropping it would leave
it in calendars that already have it.

A visit over several days is an all-day event (``VALUE=DATE``, DTEND the day after the last, as RFC 5545 makes it
exclusive); a one-day audit is a working day, 09:00 to 17:00 in Pacific/Auckland, with that zone's VTIMEZONE.

Text comes from people (titles, reasons, names): control characters, CR and LF among them, are replaced by spaces
in one-line properties so nobody can end a property early and write their own; DESCRIPTION keeps its line breaks,
which icalendar escapes as ``\\n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

AUCKLAND = ZoneInfo("Pacific/Auckland")
PRODID = "-//partner-audit//audit calendar//EN"
UID_DOMAIN = "partner-audit"
DAY_STARTS, DAY_ENDS = time(9, 0), time(17, 0)

STATUS = {
    "proposed": "TENTATIVE",
    "scheduled": "CONFIRMED",
    "in_progress": "CONFIRMED",
    "reported": "CONFIRMED",
    "closed": "CONFIRMED",
    "cancelled": "CANCELLED",
}

KIND_WORDS = {
    "desktop_review": "Desktop review",
    "site_visit": "Site visit",
    "device_spot_check": "Device spot-check",
    "follow_up": "Follow-up audit",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def one_line(value: object) -> str:
    """Text for a one-line property: every control character (CR and LF too) becomes a space."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", str(value)).strip()


def lines(value: object) -> str:
    """Text that may run over lines: line breaks kept as LF, every other control character a space."""
    return _CONTROL.sub(" ", _LINE_BREAKS.sub("\n", str(value).replace("\t", " "))).strip()


@dataclass(frozen=True)
class CalendarAudit:
    """What a feed shows of one audit."""

    id: str
    kind: str
    status: str
    provider: str  # the provider's name
    starts_on: date
    ends_on: date
    sequence: int
    created_at: datetime
    updated_at: datetime
    title: str = ""
    scope: Sequence[str] = ()  # focus areas and controls, in words
    team: Sequence[str] = ()  # "Name (lead)", "Name"
    why: str = ""  # why the audit is happening
    cancelled_reason: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        return f"{self.id}@{UID_DOMAIN}"

    @property
    def summary(self) -> str:
        text = f"{KIND_WORDS.get(self.kind, self.kind)}: {self.provider}"
        return f"{text} ({self.title})" if self.title and self.title != self.provider else text

    @property
    def description(self) -> str:
        parts = []
        if self.status == "cancelled":
            parts.append("Cancelled" + (f": {self.cancelled_reason}" if self.cancelled_reason else "."))
        parts.append("Scope: " + ("; ".join(self.scope) if self.scope else "the whole template"))
        parts.append("Team: " + (", ".join(self.team) if self.team else "not yet chosen"))
        if self.why:
            parts.append(f"Why: {self.why}")
        return "\n".join(parts)


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def event(audit: CalendarAudit, stamp: datetime) -> Event:
    ev = Event()
    ev.add("uid", audit.uid)
    ev.add("sequence", max(int(audit.sequence), 0))
    ev.add("dtstamp", _utc(stamp))
    ev.add("created", _utc(audit.created_at))
    ev.add("last-modified", _utc(audit.updated_at))
    ev.add("summary", one_line(audit.summary))
    ev.add("description", lines(audit.description))
    ev.add("status", STATUS.get(audit.status, "TENTATIVE"))
    ev.add("transp", "TRANSPARENT" if audit.status == "cancelled" else "OPAQUE")
    if audit.ends_on > audit.starts_on:
        ev.add("dtstart", audit.starts_on)  # a date: VALUE=DATE
        ev.add("dtend", audit.ends_on + timedelta(days=1))  # exclusive
    else:
        ev.add("dtstart", datetime.combine(audit.starts_on, DAY_STARTS, AUCKLAND))
        ev.add("dtend", datetime.combine(audit.starts_on, DAY_ENDS, AUCKLAND))
    return ev


def feed(name: str, audits: Iterable[CalendarAudit], stamp: datetime | None = None) -> bytes:
    """The calendar ``name`` with one event per audit, and the VTIMEZONE of every zone its times use."""
    stamp = stamp or datetime.now(UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", one_line(name))
    cal.add("x-wr-timezone", "Pacific/Auckland")
    for audit in audits:
        cal.add_component(event(audit, stamp))
    cal.add_missing_timezones()
    if not cal.timezones:
        # A feed of all-day events only still says which zone its days are in, for clients that ask.
        cal.add_component(Timezone.from_tzinfo(AUCKLAND))
    return cal.to_ical()
