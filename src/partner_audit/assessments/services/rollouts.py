"""Rollouts: a template version, a period and dates sent to the providers that match a selection."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from partner_audit.api import Paging
from partner_audit.assessments.schemas import RolloutCreate
from partner_audit.assessments.services.assessments import DONE, S, now, template_for, today
from partner_audit.assessments.services.carry import carry_forward
from partner_audit.assessments.tables import Assessment, Rollout
from partner_audit.controls import service as controls
from partner_audit.errors import Invalid
from partner_audit.providers.schemas import ENGAGED_STATUSES
from partner_audit.providers.tables import Provider
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller
from partner_audit.security.tenancy import page_of, require_row


async def create_rollout(caller: Caller, data: RolloutCreate) -> dict[str, Any]:
    policies.PLAN_ROLLOUT.check(caller)
    if data.due_on < data.opens_on:
        raise Invalid.field("due_on", f"{data.due_on} is before opens_on {data.opens_on}")
    selection = {
        "risk_tiers": sorted(set(data.selection.risk_tiers)),
        "regions": sorted({r.value for r in data.selection.regions}),
        "kinds": sorted({k.value for k in data.selection.kinds}),
        "provider_ids": sorted({str(p) for p in data.selection.provider_ids}),
    }
    if not any(selection.values()):
        raise Invalid.field("selection", "choose providers by tier, region, kind or name")
    async with access_log.audited(caller, "rollout.create", "rollout") as audit:
        await controls.get_version(data.template_version_id)  # NotFound names it
        if selection["provider_ids"]:
            found = await Provider.count().where(Provider.id.is_in(selection["provider_ids"])).run()
            if found != len(selection["provider_ids"]):
                raise Invalid.field("selection.provider_ids", "names a provider that does not exist")
        rollout = Rollout(
            name=data.name.strip(), template_version=data.template_version_id, period=data.period,
            opens_on=data.opens_on, due_on=data.due_on, selection=json.dumps(selection), created_by=caller.user_id,
        )
        await rollout.save().run()
        audit.record_id = rollout.id
    return await get_rollout(caller, rollout.id, log=False)


def _rollout_out(row: dict[str, Any]) -> dict[str, Any]:
    selection = row["selection"]
    return {**row, "template_version_id": row["template_version"],
            "selection": json.loads(selection) if isinstance(selection, str) else selection}


async def get_rollout(caller: Caller, rollout_id: UUID, log: bool = True) -> dict[str, Any]:
    policies.SEE_ROLLOUTS.check(caller)
    async def fetch() -> dict[str, Any]:
        row = require_row(await Rollout.select().where(Rollout.id == rollout_id).first().run(), "rollout", rollout_id)
        return {**_rollout_out(row), "progress": await progress(rollout_id)}

    if not log:
        return await fetch()
    async with access_log.audited(caller, "rollout.read", "rollout", rollout_id, writes=False):
        return await fetch()


async def list_rollouts(caller: Caller, paging: Paging) -> tuple[list[dict[str, Any]], int]:
    policies.SEE_ROLLOUTS.check(caller)
    return await page_of(caller, paging, Rollout.select(), Rollout.count(), action="rollout.list",
                         record_type="rollout", order_by=[(Rollout.created_at, False)],
                         present=lambda rows: [_rollout_out(r) for r in rows])


async def _matching_providers(selection: dict[str, Any]) -> list[dict[str, Any]]:
    """Providers matching every criterion given, plus those named; only those taking part in rollouts."""
    criteria = []
    if selection.get("risk_tiers"):
        criteria.append(Provider.risk_tier.is_in(selection["risk_tiers"]))
    if selection.get("regions"):
        criteria.append(Provider.region.is_in(selection["regions"]))
    if selection.get("kinds"):
        criteria.append(Provider.kind.is_in(selection["kinds"]))
    base = Provider.select(Provider.id).where(Provider.status.is_in(list(ENGAGED_STATUSES)))
    matched = await base.where(*criteria).run() if criteria else []
    named = (await Provider.select(Provider.id).where(
        Provider.status.is_in(list(ENGAGED_STATUSES)), Provider.id.is_in(selection["provider_ids"])
    ).run()) if selection.get("provider_ids") else []
    seen: dict[str, dict[str, Any]] = {str(r["id"]): r for r in [*matched, *named]}
    return list(seen.values())


async def launch(caller: Caller, rollout_id: UUID) -> dict[str, Any]:
    """Create one assessment per matching provider. Launching again adds newly matching providers only."""
    policies.LAUNCH_ROLLOUT.check(caller)
    async with access_log.audited(caller, "rollout.launch", "rollout", rollout_id) as audit:
        rollout = require_row(await Rollout.select().where(Rollout.id == rollout_id).first().run(), "rollout",
                              rollout_id)
        template, _ = await template_for(rollout["template_version"])
        providers = await _matching_providers(_rollout_out(rollout)["selection"])
        rows = [
            Assessment(
                rollout=rollout_id, provider=p["id"], template_version=rollout["template_version"],
                period=rollout["period"], dedupe_key=f"{p['id']}:{rollout['period']}:{template.key}",
                opens_on=rollout["opens_on"], due_on=rollout["due_on"],
            )
            for p in providers
        ]
        created = carried = 0
        if rows:
            # The unique key makes a second launch, even a concurrent one, a no-op for existing providers; the
            # rows the insert returns are the ones this launch made (counting before and after would also count
            # a concurrent launch's rows), and only those receive what their provider's last accepted assessment
            # holds, so nothing is carried twice.
            inserted = await (Assessment.insert(*rows)
                              .on_conflict(target=Assessment.dedupe_key, action="DO NOTHING")
                              .returning(Assessment.id, Assessment.provider).run())
            created = len(inserted)
            carried = await carry_forward(caller, template, inserted)
        await Rollout.update({Rollout.launched_at: now()}).where(Rollout.id == rollout_id).run()
        audit.details.append(f"created {created} assessment(s)")
        if carried:
            audit.details.append(f"carried answers into {carried} of them from their last accepted assessment")
        return {"created": created, "already_there": len(providers) - created, "carried_into": carried,
                "progress": await progress(rollout_id)}


async def progress(rollout_id: UUID) -> dict[str, Any]:
    rows = await Assessment.select(Assessment.status, Assessment.due_on).where(Assessment.rollout == rollout_id).run()
    by_status = {s.value: 0 for s in S}
    overdue = 0
    on = today()
    for row in rows:
        by_status[row["status"]] += 1
        if row["status"] not in {s.value for s in DONE} and row["due_on"] < on:
            overdue += 1
    total = len(rows)
    accepted = by_status[S.accepted.value]
    return {"total": total, "by_status": by_status, "overdue": overdue,
            "percent_accepted": round(100 * accepted / total, 1) if total else 0.0}
