"""Scores to test with: accepted self-assessments of the mini template dated where a test wants them, and audit
ratings reported on a given day, written where time would write them (the services date both today).

Helpers only: ``from tests.support.scores import accepted_on, rated``."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from partner_audit.assessments.tables import Assessment
from partner_audit.audits.tables import Finding
from tests.support.assessments import accepted_assessment
from tests.support.audits import new_audit

# The mini template's scored questions: has-lead (yes 100, no 0) and lead-maturity (1 to 5: 0, 25, 50, 75, 100),
# both in control privacy-lead (recommendation 5), area leadership. device-register has none.
ANSWERS = {
    "strong": [{"question_id": "has-lead", "value": "yes"}, {"question_id": "lead-name", "value": "Hine Walker"},
               {"question_id": "lead-maturity", "value": "5"}, {"question_id": "device-count", "value": 4}],
    "middling": [{"question_id": "has-lead", "value": "yes"}, {"question_id": "lead-name", "value": "Hine Walker"},
                 {"question_id": "lead-maturity", "value": "3"}, {"question_id": "device-count", "value": 4}],
    "weak": [{"question_id": "has-lead", "value": "no"}, {"question_id": "lead-maturity", "value": "1"},
             {"question_id": "device-count", "value": 0}],
}
# Their overall scores: the mean of the two scored questions (weight 1 each).
OVERALL = {"strong": 100.0, "middling": 75.0, "weak": 0.0}


def accepted_on(world, template_id: str, period: str, decided_at: datetime, how: str = "middling",
                provider: dict[str, Any] | None = None) -> dict[str, Any]:
    """``provider``'s (A's) assessment for ``period`` answered ``how``, accepted at ``decided_at``."""
    provider = provider or world.provider_a
    admin = world.provider_admin if provider is world.provider_a else world.b_admin
    staff = world.provider_user if provider is world.provider_a else world.b_user
    made = accepted_assessment(world, template_id, period, answers=ANSWERS[how], admin=admin, staff=staff,
                               provider=provider)
    world.run(lambda: Assessment.update({Assessment.decided_at: decided_at}).where(
        Assessment.id == made["id"]).run())
    return made


def rated(world, provider: dict[str, Any], ratings: dict[str, str | None], reported_at: datetime | None,
          status: str = "reported") -> str:
    """An audit of ``provider`` in ``status``, reported at ``reported_at``, with a finding rating each control
    (None: not rated yet); its id."""
    audit_id = new_audit(world, provider, kind="site_visit", status=status, reported_at=reported_at,
                         title=f"Review {uuid4().hex[:6]}")

    async def findings() -> None:
        await Finding.insert(*[Finding(audit=audit_id, control_id=control, rating=rating, severity="medium",
                                       audit_control=f"{audit_id}:{control}")
                               for control, rating in ratings.items()]).run()

    world.run(findings)
    return audit_id


def provider_with_people(world, name: str, index: int, key: str, **fields: Any) -> dict[str, Any]:
    """Another provider (``register_provider``'s index), with a privacy lead ``<key>_admin`` and a staff member
    ``<key>_user`` in ``world.people``."""
    from partner_audit.security.caller import Role
    from tests.support.world import register_provider

    provider = register_provider(world.run, name, index, **fields)
    world.add_person(f"{key}_admin", Role.provider_admin, provider["id"])
    world.add_person(f"{key}_user", Role.provider_user, provider["id"])
    return provider


def accepted_at(world, template_id: str, provider: dict[str, Any], key: str, period: str, decided_at: datetime,
                how: str) -> dict[str, Any]:
    """``accepted_on`` for a provider made by ``provider_with_people``."""
    made = accepted_assessment(world, template_id, period, answers=ANSWERS[how], admin=world.people[f"{key}_admin"],
                               staff=world.people[f"{key}_user"], provider=provider)
    world.run(lambda: Assessment.update({Assessment.decided_at: decided_at}).where(
        Assessment.id == made["id"]).run())
    return made
