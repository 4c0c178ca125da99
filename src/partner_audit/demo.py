"""A realistic demo data set: a dozen providers across tiers, kinds and regions, a user of every role, the
control library from audit_templates/, and the plan's self-assessment rolled out to the participating providers.

Safe to run again: providers and users are matched by NZBN and email, templates by content hash, the rollout by
name (launching again adds nothing), and the demo passwords are made afresh and printed each time.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from stdnum import ean

from partner_audit.assessments.schemas import RolloutCreate, Selection
from partner_audit.assessments.services import rollouts
from partner_audit.assessments.tables import Rollout
from partner_audit.controls import service as controls
from partner_audit.errors import Conflict
from partner_audit.progress import progress
from partner_audit.providers import service as providers
from partner_audit.providers.schemas import ProviderCreate, ProviderKind, ProviderStatus, Region
from partner_audit.providers.tables import Provider
from partner_audit.security import service as security
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tables import User

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


def demo_nzbn(index: int) -> str:
    body = f"942900{index:06d}"
    return body + ean.calc_check_digit(body)


async def load(system: Caller | None = None) -> list[tuple[str, str, str]]:
    """Create or refresh the demo data; returns (role, email, password) for each demo login."""
    system = system or Caller.system("demo")
    provider_ids = []
    for index, (name, kind, region, tier, status) in enumerate(progress(PROVIDERS, "providers"), start=1):
        nzbn = demo_nzbn(index)
        existing = await Provider.select(Provider.id).where(Provider.nzbn == nzbn).first().run()
        if existing:
            provider_ids.append(existing["id"])
            continue
        row = await providers.register(system, ProviderCreate(
            name=name, nzbn=nzbn, kind=kind, region=region, risk_tier=tier,
            contract_reference=f"OT-{2024 + index % 2}-{index:04d}",
            contract_start=date(2024, 7, 1), contract_end=date(2027, 6, 30),
        ))
        if status is not ProviderStatus.onboarding:
            if status is ProviderStatus.exited:
                await providers.change_status(system, row["id"], ProviderStatus.active, "demo: contract began")
            await providers.change_status(system, row["id"], status, "demo data")
        provider_ids.append(row["id"])

    first = provider_ids[0]
    people = [
        (Role.admin, "admin", "Aroha System-Owner", None),
        (Role.partnerships, "partnerships", "Mere Partnerships", None),
        (Role.auditor, "auditor", "Tama Auditor", None),
        (Role.governance, "governance", "Grace Governance", None),
        (Role.provider_admin, "provider.admin", "Hine Privacy-Lead", first),
        (Role.provider_user, "provider.user", "Wiremu Kaimahi", first),
        (Role.provider_admin, "other.admin", "Sam Other-Provider", provider_ids[4]),
    ]
    logins = []
    for role, local, full_name, provider_id in progress(people, "users"):
        email = f"{local}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        existing = await User.select(User.id).where(User.email == email).first().run()
        if existing:
            await security.update_user(system, existing["id"], {"password": password, "active": True})
        else:
            try:
                await security.create_user(system, email=email, full_name=full_name, role=role,
                                           password=password, provider_id=provider_id)
            except Conflict:
                continue
        logins.append((role.value, email, password))

    await _roll_out_the_plan(system)
    return logins


PLAN_ROLLOUT = "Privacy Improvement Plan self-assessment"


async def _roll_out_the_plan(system: Caller) -> None:
    versions = [(await controls.load_file(path))[0]
                for path in progress(sorted(controls.TEMPLATES_DIR.glob("*.yaml")), "templates")]
    plan = next((v for v in versions if v["key"].startswith("pip")), versions[0] if versions else None)
    if plan is None or await Rollout.exists().where(Rollout.name == PLAN_ROLLOUT).run():
        return
    today = datetime.now(UTC).date()
    rollout = await rollouts.create_rollout(system, RolloutCreate(
        name=PLAN_ROLLOUT, template_version_id=plan["id"], period=f"{today.year}-Q{(today.month - 1) // 3 + 1}",
        opens_on=today, due_on=today + timedelta(days=42), selection=Selection(risk_tiers=[1, 2, 3]),
    ))
    await rollouts.launch(system, rollout["id"])
