"""The demo's incidents of the last two complete quarters, so the quarterly report (recommendation 18) has
breaches and near misses, their assessments against the clocks, and device exceptions to show.

Seven devices of the register that are not out this quarter were lent in those quarters: a phone left in a café
and a laptop left logged in (near misses), a laptop dropped and one drowned in coffee (damaged, repaired and back
in stock), a laptop its holder used to look up a relative's family (misuse: judged notifiable and notified within
72 hours), and a phone lost in a taxi (written off; its holder had a replacement until their placement ended).
Every breach assessment is decided, all on time but the drowned laptop's, and closed. Each is reported, assessed
and closed through the same services as the rest of the demo, as Mere Partnerships, then dated back to when it
happened, where the services, rightly, date everything now. Every device is back in stock, repaired, or retired,
so today's register is as ``demo.devices`` printed it.

Safe to run again: once the first of these devices has an incident, the part is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from partner_audit.demo import DemoProvider, period, quarter_start, quarters_before
from partner_audit.demo.devices import TAG_PREFIX
from partner_audit.demo.history import NZ
from partner_audit.devices.schemas import (
    BreachAssessmentUpdate,
    CheckIn,
    CheckOut,
    DeviceStatus,
    IncidentCreate,
    IncidentKind,
    ReturnStatus,
)
from partner_audit.devices.services import assignments, breaches, incidents, register
from partner_audit.devices.tables import Assignment, BreachAssessment, Device, Incident
from partner_audit.progress import progress
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings


@dataclass(frozen=True)
class Case:
    """One incident: ``quarters_back`` complete quarters before today's; days are counted from that quarter's
    first day. ``decided_after`` is hours from the report to the decision (the agency's target is
    ``breach_assessment_hours``, 48 by default); ``notified_after`` hours from the decision to the Commissioner
    and to the affected people, for a notifiable breach."""

    tag: str
    kind: IncidentKind
    quarters_back: int
    provider: int  # place among the active providers
    holder: str
    lent_on: int
    occurred_on: int
    occurred_hour: int
    reported_after: int  # hours from the incident to its report
    where: str
    at_risk: str
    what: str
    matters: tuple[str, str, str, str, str]  # s 113 (a) to (e)
    serious_harm: bool
    decided_after: int
    returned: tuple[int, str, ReturnStatus] | None  # (day, condition, status) when checked in after the incident
    notified_after: tuple[int, int] | None = None
    held_as_agent: bool | None = None


CASES = (
    Case(f"{TAG_PREFIX}P-0033", IncidentKind.near_miss, 2, 1, "Kiri Henare", 5, 40, 13, 2,
         "A café in Hamilton East", "Case notes for two whānau and the holder's agency email.",
         "Left on a café table after a home visit; the café staff kept it and the holder collected it within the "
         "hour.",
         ("The holder checked the phone's lock screen log: not unlocked while away.",
          "Case notes: moderately sensitive.", "None found: the phone stayed locked.",
          "No one: the café staff kept it behind the counter.", "PIN lock, encryption and MDM."),
         False, 20, (80, "good", ReturnStatus.in_stock)),
    Case(f"{TAG_PREFIX}L-0034", IncidentKind.damaged, 2, 3, "Tom Walker", 10, 60, 10, 4,
         "A client's driveway, Manurewa", "Caregiver assessments on an encrypted drive.",
         "Dropped on the concrete getting out of the car: the screen cracked; the drive is intact.",
         ("The laptop was handed to agency IT the same day and wiped before repair.",
          "Caregiver assessments: sensitive.", "None: the laptop stayed with the holder.",
          "No one.", "Full-disk encryption and MDM."),
         False, 26, (61, "cracked screen", ReturnStatus.in_repair)),
    Case(f"{TAG_PREFIX}L-0035", IncidentKind.near_miss, 1, 0, "Rawiri Tamihana", 3, 20, 11, 1,
         "The wharekai at a marae hui, Whangārei", "Case notes on screen, logged in to the case management system.",
         "Left unlocked and logged in at a shared table; a colleague locked it within minutes. No one else used it.",
         ("The session was ended and the holder reminded of the lock-screen rule.",
          "Case notes: sensitive.", "None found: the audit log shows no access while away.",
          "Possibly people passing the table; nobody was seen using it.", "Automatic lock after five minutes."),
         False, 18, (70, "good", ReturnStatus.in_stock)),
    Case(f"{TAG_PREFIX}L-0037", IncidentKind.damaged, 1, 5, "Isla Campbell", 9, 33, 9, 3,
         "The provider's office, Christchurch", "Case notes on an encrypted drive.",
         "Coffee spilled on the keyboard during a team meeting; it would not start again.",
         ("Agency IT took the laptop and wiped the drive before sending it for repair.",
          "Case notes: sensitive.", "None: the laptop never left the office.",
          "No one.", "Full-disk encryption."),
         False, 98, (34, "liquid damage, would not start", ReturnStatus.in_repair)),
    Case(f"{TAG_PREFIX}L-0040", IncidentKind.misuse, 1, 2, "Hemi Kingi", 8, 47, 15, 20,
         "The holder's home, Gisborne", "Case records of a relative's whānau in the case management system.",
         "The holder looked up the records of a relative's whānau in the case management system, outside any "
         "work with them; found by the agency's access monitoring.",
         ("Access removed the next morning; the laptop recovered and wiped; the relative's whānau told.",
          "Care and protection records: highly sensitive.",
          "Emotional harm and damage to the whānau's relationships if the records are shared in the family.",
          "The holder, who knows the whānau.", "None against an authorised user."),
         True, 30, (48, "good", ReturnStatus.in_stock), notified_after=(30, 52), held_as_agent=True),
    Case(f"{TAG_PREFIX}P-0036", IncidentKind.lost, 1, 6, "Ana Rangi", 2, 62, 17, 3,
         "A taxi in Dunedin", "Agency email and contact details of about 20 caregivers.",
         "Left in a taxi; the taxi company did not find it. Remote wipe sent through MDM the same evening.",
         ("Remote wipe sent within the hour and confirmed; passwords and sessions reset.",
          "Caregivers' contact details: moderately sensitive.", "Unwanted contact with caregivers, if read.",
          "Unknown: whoever finds the phone.", "Encrypted, PIN-locked, and wiped remotely."),
         False, 22, None),
)
# The lost phone's holder had this one until their placement ended, before the quarter closed.
REPLACEMENT, REPLACEMENT_RETURNED_ON = f"{TAG_PREFIX}P-0039", 85


async def load(system: Caller, settings: Settings, active: list[DemoProvider], today: date) -> list[str]:
    tags = [c.tag for c in CASES] + [REPLACEMENT]
    if await Incident.exists().where(Incident.device.asset_tag == CASES[0].tag).run():
        return ["the past quarters' incidents were already there: left as they were"]
    devices = {r["asset_tag"]: r for r in await Device.select(Device.id, Device.asset_tag, Device.status).where(
        Device.asset_tag.is_in(tags)).run()}
    if len(devices) < len(tags) or any(d["status"] != DeviceStatus.in_stock.value for d in devices.values()):
        return ["no past incidents: the devices they use are not all in stock"]
    clocks = breaches.BreachClocks.of(settings)
    notified = 0
    for case in progress(CASES, "the past quarters' incidents"):
        first = quarter_start(*quarters_before(today, case.quarters_back))
        provider = active[case.provider % len(active)]
        device_id = devices[case.tag]["id"]
        await assignments.check_out(system, device_id, _lending(case, provider, first + timedelta(days=case.lent_on)))
        occurred = datetime.combine(first + timedelta(days=case.occurred_on), time(case.occurred_hour), NZ)
        incident = await incidents.report_incident(system, IncidentCreate(
            device_id=device_id, kind=case.kind, occurred_at=occurred, reported_by=f"{case.holder}, the holder",
            location=case.where, information_at_risk=case.at_risk, description=case.what), clocks)
        reported = occurred + timedelta(hours=case.reported_after)
        decided = reported + timedelta(hours=case.decided_after)
        assessment_id = incident["assessment"]["id"]
        a, b, c, d, e = case.matters
        await breaches.update_breach_assessment(system, assessment_id, BreachAssessmentUpdate(
            harm_reduction_action=a, information_sensitivity=b, nature_of_harm=c, recipients=d,
            security_protection=e, held_as_agent=case.held_as_agent, serious_harm_likely=case.serious_harm), clocks)
        await _date_back(incident["id"], assessment_id, reported, decided, clocks, case.kind)
        if case.notified_after:
            commissioner, people = (decided + timedelta(hours=h) for h in case.notified_after)
            await breaches.update_breach_assessment(system, assessment_id, BreachAssessmentUpdate(
                commissioner_notified_at=commissioner, individuals_notified_at=people), clocks)
            notified += 1
        await breaches.close_breach_assessment(system, assessment_id)
        if case.returned:
            day, condition, status = case.returned
            await assignments.check_in(system, device_id, CheckIn(
                returned_on=first + timedelta(days=day), condition=condition, data_wiped=True,
                wiped_by="Agency IT service desk", device_status=status))
            if status is ReturnStatus.in_repair:
                await register.change_status(system, device_id, DeviceStatus.in_stock, "repaired")
        elif case.kind is IncidentKind.lost:
            await register.change_status(system, device_id, DeviceStatus.retired,
                                         "written off: not found after 30 days")
            replacement = devices[REPLACEMENT]["id"]
            await assignments.check_out(system, replacement, _lending(
                case, provider, first + timedelta(days=case.occurred_on + 1)))
            await assignments.check_in(system, replacement, CheckIn(
                returned_on=first + timedelta(days=REPLACEMENT_RETURNED_ON), condition="good", data_wiped=True,
                wiped_by="Agency IT service desk"))
    quarters = sorted({period(*quarters_before(today, c.quarters_back)) for c in CASES})
    late = [c for c in CASES if c.decided_after > clocks.assessment_hours]
    return [f"{len(CASES)} incidents in {' and '.join(quarters)} with devices lent then (2 near misses, 2 damaged "
            f"laptops, a misuse and a lost phone), each breach assessment decided ({len(CASES) - len(late)} on time, "
            f"{len(late)} late) and closed, {notified} judged notifiable and notified within "
            f"{clocks.notification_hours} hours; the devices back in stock or repaired, the lost phone written off "
            "and its holder's replacement returned"]


def _lending(case: Case, provider: DemoProvider, starts: date) -> CheckOut:
    email = case.holder.lower().replace(" ", ".")
    return CheckOut(provider_id=provider.id, holder_name=case.holder,
                    holder_email=f"{email}@staff{provider.index + 1}.example.nz",
                    purpose="Case notes and visit records for whānau the provider supports under contract",
                    starts_on=starts, expected_return_on=starts + timedelta(days=180),
                    holder_role="Social worker", systems=["CYRAS case management", "Agency email"])


async def _date_back(incident_id: Any, assessment_id: Any, reported: datetime, decided: datetime,
                     clocks: breaches.BreachClocks, kind: IncidentKind) -> None:
    """The incident as it happened: reported when it was, its decision due by the agency's target from then,
    decided when it was (and, for a notifiable breach, the 72-hour clock from then)."""
    await Incident.update({Incident.reported_at: reported}).where(Incident.id == incident_id).run()
    B = BreachAssessment
    values: dict[Any, Any] = {B.due_at: clocks.assessment_due(reported), B.assessed_at: decided}
    row = await B.select(B.notifiable_at).where(B.id == assessment_id).first().run()
    if row["notifiable_at"] is not None:
        values.update({B.notifiable_at: decided,
                       B.notification_due_at: decided + timedelta(hours=clocks.notification_hours)})
    await B.update(values).where(B.id == assessment_id).run()
    if kind in incidents.LOSSES:  # the loss closed the holder's assignment when it was reported
        await Assignment.update({Assignment.closed_at: reported}).where(Assignment.id.is_in(
            Incident.select(Incident.assignment).where(Incident.id == incident_id))).run()
