"""The demo's device register: agency laptops and phones held by providers' staff, as a quarter leaves them.

Most holders have attested in person; those who started more than the attestation interval ago without attesting
are overdue, as are a few devices past their expected return. Some devices came back and are in stock, one is in
repair, one was lost last week and one stolen six weeks ago: each has its breach assessment and clocks.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from partner_audit.demo import DemoProvider
from partner_audit.devices.schemas import (
    BreachAssessmentUpdate,
    CheckIn,
    CheckOut,
    DeviceCreate,
    DeviceKind,
    IncidentCreate,
    IncidentKind,
    InPersonAttestation,
    ReturnStatus,
)
from partner_audit.devices.services import assignments, attestations, breaches, incidents, register
from partner_audit.devices.tables import Device
from partner_audit.progress import progress
from partner_audit.security.caller import Caller
from partner_audit.settings import Settings

TAG_PREFIX = "AGY-"
LAPTOPS = [("Lenovo", "ThinkPad T14 Gen 4"), ("Dell", "Latitude 5440"), ("Apple", "MacBook Air M2")]
PHONES = [("Apple", "iPhone 14"), ("Samsung", "Galaxy A54")]
FIRST = ["Aroha", "Mere", "Tane", "Hemi", "Ngaio", "Sione", "Priya", "Liam", "Olivia", "Manaia", "Kiri", "Jack",
         "Ana", "Rawiri", "Mei", "Tom", "Te Aomihi", "Lucas", "Isla", "Nikau"]
LAST = ["Ngata", "Parata", "Smith", "Williams", "Tuhoe", "Fa'asavalu", "Patel", "Brown", "Wilson", "Tamihana",
        "Henare", "Taylor", "Kingi", "Chen", "Walker", "Rangi", "Campbell", "Nguyen", "Thompson", "Marsh"]
PURPOSES = ["Case notes and visit records for whānau the provider supports under contract",
            "Caregiver assessments in the field", "Reaching the agency's case management system from home visits",
            "Transport bookings for tamariki and rangatahi", "On-call after-hours support"]
SYSTEMS = ["CYRAS case management", "Agency email", "Caregiver portal", "Transport bookings"]


async def load(system: Caller, settings: Settings, active: list[DemoProvider], today: date) -> list[str]:
    if await Device.exists().where(Device.asset_tag.like(f"{TAG_PREFIX}%")).run():
        return ["the device register was already there: left as it was"]
    rng = random.Random("devices")
    devices = []
    for n in progress(range(1, 41), "devices"):
        kind = DeviceKind.laptop if n % 3 else DeviceKind.phone
        make, model = rng.choice(LAPTOPS if kind is DeviceKind.laptop else PHONES)
        row = await register.create_device(system, DeviceCreate(
            asset_tag=f"{TAG_PREFIX}{'L' if kind is DeviceKind.laptop else 'P'}-{n:04d}", kind=kind,
            serial=f"SN{rng.randrange(10**9):09d}", make=make, model=model, encrypted=n % 11 != 0,
            mdm_enrolled=n % 7 != 0))
        devices.append(row)

    attested, overdue_attestation, overdue_return, held = set(), set(), set(), []
    for n, device in enumerate(progress(devices[:32], "assignments")):
        provider = active[n % len(active)]
        name = f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}"
        starts = today - timedelta(days=rng.randint(20, 300))
        late = n % 9 == 4
        expected = (today - timedelta(days=rng.randint(3, 30))) if late else starts + timedelta(days=365)
        assignment = await assignments.check_out(system, device["id"], CheckOut(
            provider_id=provider.id, holder_name=name,
            holder_email=f"{name.lower().replace(' ', '.').replace(chr(39), '')}@staff{provider.index + 1}.example.nz",
            purpose=rng.choice(PURPOSES), starts_on=starts, expected_return_on=max(expected, starts),
            holder_role=rng.choice(["Social worker", "Whānau ora navigator", "Caregiver liaison", "Driver"]),
            systems=rng.sample(SYSTEMS, 2)))
        held.append((device, assignment, starts))
        if late:
            overdue_return.add(n)
        # Two in three holders attested in person recently; the rest are overdue once the interval has passed.
        if n % 3:
            await attestations.record_in_person(settings, system, assignment["id"], InPersonAttestation(
                holds_device=True, authorised_use_only=True, notes="Seen at the quarterly team visit."))
            attested.add(n)
        elif (today - starts).days > settings.attestation_days:
            overdue_attestation.add(n)

    for device, _, starts in held[-4:-1]:  # came back and were wiped: in stock again
        await assignments.check_in(system, device["id"], CheckIn(
            returned_on=min(today, starts + timedelta(days=14)), condition="good", data_wiped=True,
            wiped_by="Agency IT service desk"))
    device, _, starts = held[-1]
    await assignments.check_in(system, device["id"], CheckIn(
        returned_on=min(today, starts + timedelta(days=10)), condition="cracked screen", data_wiped=True,
        wiped_by="Agency IT service desk", device_status=ReturnStatus.in_repair))

    lost, stolen = held[1][0], held[2][0]
    now = datetime.now(UTC)
    clocks = breaches.BreachClocks.of(settings)
    await incidents.report_incident(system, IncidentCreate(
        device_id=lost["id"], kind=IncidentKind.lost, occurred_at=now - timedelta(days=6),
        reported_by="The holder, by phone", location="Whangārei bus station",
        information_at_risk="Case notes for about 40 whānau; the laptop is encrypted and MDM-enrolled.",
        description="Left in a bag on a bus; the bus company has not found it."), clocks)
    theft = await incidents.report_incident(system, IncidentCreate(
        device_id=stolen["id"], kind=IncidentKind.stolen,
        occurred_at=datetime.combine(today - timedelta(days=42), time(19, 30), tzinfo=UTC),
        reported_by="The provider's privacy lead", location="A car in a supermarket car park",
        information_at_risk="Caregiver assessments and contact details held on the phone.",
        description="Stolen from a locked car; reported to Police."), clocks)
    # The theft is assessed against the s 113 matters and judged likely to cause serious harm: the 72-hour
    # notification clock runs. The loss waits for its assessment.
    await breaches.update_breach_assessment(system, theft["assessment"]["id"], BreachAssessmentUpdate(
        harm_reduction_action="Remote wipe sent through MDM; the holder's passwords and sessions were reset.",
        information_sensitivity="Caregiver assessments: health and family circumstances of caregivers and tamariki.",
        nature_of_harm="Possible identity misuse and emotional harm if the assessments were read.",
        recipients="Unknown: the thief. The phone was not encrypted.",
        security_protection="PIN lock only; the phone was not encrypted at rest.",
        held_as_agent=True, serious_harm_likely=True), clocks)
    still_held = set(range(3, len(held) - 4))  # not lost (1), stolen (2) or back (the last four); 0 is held too
    still_held.add(0)
    return [f"{len(devices)} devices: {len(still_held)} held by providers' staff ({len(attested & still_held)} "
            f"attested, {len(overdue_attestation & still_held)} overdue for attestation, "
            f"{len(overdue_return & still_held)} past their return date), 3 back in stock, 1 in repair, 1 lost and "
            f"1 stolen (each with a breach assessment: the theft judged notifiable, its 72-hour clock running; the "
            f"loss waiting to be assessed), {len(devices) - len(held)} not issued this quarter"]
