"""A lived-in demo: a quarter of real use, ready for every journey in the README, for audits and for reports.

- a dozen providers across tiers, kinds and regions, a user of every role (their logins are printed), and a
  privacy lead at each active provider;
- the control library from audit_templates/;
- the plan's self-assessment two quarters ago, accepted for most providers (one went back and forth with its
  reviewer, one never finished), and this quarter's round, open now: some providers are still answering, one has
  submitted, one was returned with a question from the reviewer;
- the rounds before those, every second quarter back to two years ago, each accepted in its quarter, so scores
  have a past: most providers improve round by round, one slips (``history``);
- the device register: laptops and phones held by providers' staff, some attested, some overdue for attestation or
  return, some back in stock, one lost and one stolen with their breach assessments.

Safe to run again: providers and users are matched by NZBN and email, templates by content hash, rollouts by name,
devices by asset tag; each part that exists already is left alone, and the demo passwords are made afresh.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from stdnum import ean

from partner_audit.errors import Conflict
from partner_audit.progress import progress
from partner_audit.providers import service as providers
from partner_audit.providers.schemas import ProviderCreate, ProviderKind, ProviderStatus, Region
from partner_audit.providers.tables import Provider
from partner_audit.security import service as security
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User
from partner_audit.settings import Settings
from partner_audit.storage import evidence_store

# (name, kind, region, tier, status)
PROVIDERS = [
    ("Te Whare Awhina Trust", ProviderKind.iwi_maori, Region.northland, 1, ProviderStatus.active),
    ("Ngā Kete Mātauranga", ProviderKind.iwi_maori, Region.waikato, 1, ProviderStatus.active),
    ("Whānau Ora Tairāwhiti", ProviderKind.iwi_maori, Region.gisborne, 2, ProviderStatus.active),
    ("Kaitiaki Rangatahi Services", ProviderKind.iwi_maori, Region.bay_of_plenty, 2, ProviderStatus.onboarding),
    ("Safe Families Auckland", ProviderKind.ngo, Region.auckland, 1, ProviderStatus.active),
    ("Youth Horizons Wellington", ProviderKind.ngo, Region.wellington, 2, ProviderStatus.active),
    ("Canterbury Family Support", ProviderKind.ngo, Region.canterbury, 2, ProviderStatus.active),
    ("Southern Care Network", ProviderKind.ngo, Region.southland, 3, ProviderStatus.suspended),
    ("Otago Foster Carers Association", ProviderKind.ngo, Region.otago, 3, ProviderStatus.active),
    ("Kiwi Transport Services Ltd", ProviderKind.contractor, Region.manawatu_whanganui, 3, ProviderStatus.active),
    ("Harbour IT Contracting Ltd", ProviderKind.contractor, Region.wellington, 2, ProviderStatus.active),
    ("Taranaki Community Counselling", ProviderKind.other, Region.taranaki, 3, ProviderStatus.exited),
]

DEMO_DOMAIN = "demo.partner-audit.nz"
PLAN_ROLLOUT = "Privacy Improvement Plan self-assessment"


def demo_nzbn(index: int) -> str:
    body = f"942900{index:06d}"
    return body + ean.calc_check_digit(body)


@dataclass
class DemoProvider:
    id: UUID
    name: str
    index: int  # its place in PROVIDERS, from 0: the demo's choices are made by it, so every run makes the same
    status: ProviderStatus
    lead: Caller | None = None  # its privacy lead (provider_admin), for the active ones


@dataclass
class Demo:
    """What ``load`` made: the printed logins and a line for each part."""

    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, email, password)
    made: list[str] = field(default_factory=list)


async def load(settings: Settings, today: date | None = None) -> Demo:
    """Create or refresh the demo data (``today``: the day the demo's quarter is lived up to)."""
    from partner_audit.demo import assessments, audits, devices, history

    today = today or date.today()
    system = Caller.system("demo")
    demo = Demo()
    providers_made = await _providers(system)
    staff = await _people(system, providers_made, demo)
    active = [p for p in providers_made if p.status is ProviderStatus.active]
    await _leads(system, active)
    demo.made.append(f"{len(providers_made)} providers ({len(active)} active), {len(demo.logins)} demo logins and a "
                     "privacy lead at each active provider")
    demo.made.extend(await assessments.load(system, evidence_store(settings), staff, active, today))
    demo.made.extend(await devices.load(system, settings, active, today))
    demo.made.extend(await audits.load(system, settings, staff, active, today))
    # Last, so that what the rounds, devices and audits above made (and the triggers proposed) is as it was.
    demo.made.extend(await history.load(system, evidence_store(settings), staff, active, today))
    return demo


async def _providers(system: Caller) -> list[DemoProvider]:
    made = []
    for index, (name, kind, region, tier, status) in enumerate(progress(PROVIDERS, "providers")):
        nzbn = demo_nzbn(index + 1)
        existing = await Provider.select(Provider.id).where(Provider.nzbn == nzbn).first().run()
        if existing:
            made.append(DemoProvider(existing["id"], name, index, status))
            continue
        row = await providers.register(system, ProviderCreate(
            name=name, nzbn=nzbn, kind=kind, region=region, risk_tier=tier,
            contract_reference=f"OT-{2024 + (index + 1) % 2}-{index + 1:04d}",
            contract_start=date(2024, 7, 1), contract_end=date(2027, 6, 30),
        ))
        if status is not ProviderStatus.onboarding:
            if status is ProviderStatus.exited:
                await providers.change_status(system, row["id"], ProviderStatus.active, "demo: contract began")
            await providers.change_status(system, row["id"], status, "demo data")
        made.append(DemoProvider(row["id"], name, index, status))
    return made


async def _people(system: Caller, made: list[DemoProvider], demo: Demo) -> dict[str, Caller]:
    """The printed logins, one of every role; returns them as callers by their email's local part."""
    first, other = made[0].id, made[4].id
    people = [
        (Role.admin, "admin", "Aroha System-Owner", None),
        (Role.partnerships, "partnerships", "Mere Partnerships", None),
        (Role.auditor, "auditor", "Tama Auditor", None),
        (Role.governance, "governance", "Grace Governance", None),
        (Role.provider_admin, "provider.admin", "Hine Privacy-Lead", first),
        (Role.provider_user, "provider.user", "Wiremu Kaimahi", first),
        (Role.provider_admin, "other.admin", "Sam Other-Provider", other),
    ]
    callers = {}
    for role, local, full_name, provider_id in progress(people, "users"):
        email = f"{local}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        existing = await User.select(User.id, User.provider).where(User.email == email).first().run()
        if existing:
            await security.update_user(system, existing["id"], {"password": password, "active": True})
            user_id = existing["id"]
        else:
            try:
                row = await security.create_user(system, email=email, full_name=full_name, role=role,
                                                 password=password, provider_id=provider_id)
            except Conflict:
                continue
            user_id = row["id"]
        callers[local] = Caller(user_id=user_id, email=email, role=role, provider_id=provider_id)
        demo.logins.append((role.value, email, password))
    return callers


async def _leads(system: Caller, active: list[DemoProvider]) -> None:
    """A privacy lead at each active provider (not printed: sign in as provider.admin or other.admin), so each
    provider's answers are its own people's."""
    for provider in active:
        row = await User.select(User.id, User.email).where(
            (User.provider == provider.id) & (User.role == Role.provider_admin.value)).first().run()
        if row is None:
            email = f"privacy.lead{provider.index + 1}@{DEMO_DOMAIN}"
            row = await security.create_user(system, email=email, full_name=f"Privacy lead, {provider.name}",
                                             role=Role.provider_admin, password=secrets.token_urlsafe(24),
                                             provider_id=provider.id)
        provider.lead = Caller(user_id=row["id"], email=row["email"], role=Role.provider_admin,
                               provider_id=provider.id)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * (quarter - 1) + 1, 1)


def quarters_before(day: date, count: int) -> tuple[int, int]:
    year, quarter = quarter_of(day)
    index = year * 4 + quarter - 1 - count
    return index // 4, index % 4 + 1


def period(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"
