"""HTTP for audits: calendars. Thin: the rules are in ``services.calendars``; the iCalendar is ``audits.ics``."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from partner_audit.api import Page, Paging, download, file_download, to
from partner_audit.audits.schemas.calendars import CalendarEntry, CalendarFilter, FeedCreate, FeedCreated, FeedOut
from partner_audit.audits.services import calendars
from partner_audit.errors import NotFound
from partner_audit.security import policies
from partner_audit.security.caller import Caller
from partner_audit.security.middleware import PUBLIC, anonymous_caller
from partner_audit.settings import Settings

ICS = "text/calendar"


class CalendarFeedController(Controller):
    path = "/calendar-feeds"
    tags = ["Audits: calendars"]

    @post("/", guards=[policies.MANAGE_CALENDAR_FEEDS.guard], status_code=201, summary="Make a calendar feed")
    async def create(self, caller: NamedDependency[Caller], settings: NamedDependency[Settings],
                     data: JSONBody[FeedCreate]) -> FeedCreated:
        """A secret address a calendar client subscribes to without signing in: an auditor's own audits, or a
        provider admin's own provider's (an admin makes either for anyone). The address is in `url` this once
        and never again; revoke the feed if it leaks."""
        return to(FeedCreated, await calendars.create_feed(caller, data, settings.public_url))

    @get("/", guards=[policies.MANAGE_CALENDAR_FEEDS.guard], summary="List calendar feeds")
    async def list_feeds(self, caller: NamedDependency[Caller], paging: NamedDependency[Paging]) -> Page[FeedOut]:
        """The caller's feeds (a provider admin: their provider's; an admin: everyone's), newest first, without
        their addresses."""
        rows, total = await calendars.list_feeds(caller, paging)
        return Page.of(rows, total, paging, FeedOut)

    @post("/{feed_id:uuid}/revoke", guards=[policies.MANAGE_CALENDAR_FEEDS.guard], status_code=200,
          summary="Revoke a calendar feed")
    async def revoke(self, caller: NamedDependency[Caller], feed_id: FromPath[UUID]) -> FeedOut:
        """Its address stops working at once, for every client subscribed to it."""
        return to(FeedOut, await calendars.revoke_feed(caller, feed_id))

    @get("/feed/{name:str}", opt=PUBLIC, summary="Read a calendar feed",
         responses={200: download(ICS, description="The audits as iCalendar (RFC 5545), METHOD:PUBLISH.")})
    async def feed(self, request: Request, name: FromPath[str]) -> Response:
        """For calendar clients, without signing in: the secret `<token>.ics` address given when the feed was
        made. An unknown or revoked address is a 404, the same for both."""
        if not name.endswith(".ics"):
            raise NotFound("No calendar feed at this address: it may have been revoked.")
        _, content = await calendars.read_feed(anonymous_caller(request), name.removesuffix(".ics"))
        return file_download(content, "audits.ics", ICS)


class CalendarController(Controller):
    path = "/calendar"
    tags = ["Audits: calendars"]

    @get("/", guards=[policies.SEE_CALENDAR.guard], summary="Audits by date")
    async def calendar(
        self,
        caller: NamedDependency[Caller],
        paging: NamedDependency[Paging],
        starts: Annotated[date | None, QueryParameter(name="from", description="First day; today by default")]
        = None,
        ends: Annotated[date | None, QueryParameter(name="to", description="Last day; three months on by default, "
                                                                            "a year after `from` at most")] = None,
        auditor_id: FromQuery[UUID | None] = None,
        provider_id: FromQuery[UUID | None] = None,
    ) -> Page[CalendarEntry]:
        """Audits on any day from `from` to `to`, soonest first, with their teams. A provider's people see their
        own provider's audits, once scheduled."""
        rows, total = await calendars.calendar(caller, CalendarFilter(starts, ends, auditor_id, provider_id), paging)
        return Page.of(rows, total, paging, CalendarEntry)


ROUTERS: list = [CalendarFeedController, CalendarController]
