"""Device spot-checks: an audit of kind device_spot_check draws a random sample of its provider's open
assignments, once, and its auditors record what they found for each sampled device.

The sample is fixed when drawn. The population is the provider's open assignments at that moment, as sorted ids;
its size and sha256, the seed and the sampling settings are kept on the audit, and the access log gets them with
the population itself and every sampled assignment, so the draw can be redone and checked from the log alone
(``population_from_log`` and ``audits.sampling``). Drawing claims the audit with one
conditional UPDATE (``sample_seed`` still NULL), so of any number of concurrent draws one wins and the others are
told the sample is fixed; the unique ``SpotCheckItem.audit_assignment`` backs that up.

During the audit, and only for its sample, its auditors see the holders' details (devices.services.visibility).
A device not seen opens a lost-device incident through the register's incidents service, once per item.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from partner_audit.audits import sampling
from partner_audit.audits.schemas import AuditKind, AuditStatus, SpotCheckResult
from partner_audit.audits.schemas.spot_checks import SampleDraw, SpotCheckRecord
from partner_audit.audits.tables import Audit, AuditAuditor, SpotCheckItem
from partner_audit.devices.schemas import IncidentCreate, IncidentKind
from partner_audit.devices.services import incidents
from partner_audit.devices.services.breaches import BreachClocks
from partner_audit.devices.services.visibility import present, select_assignments
from partner_audit.devices.tables import Assignment
from partner_audit.errors import Conflict, Forbidden, Invalid
from partner_audit.security import access_log, policies
from partner_audit.security.caller import Caller, Role
from partner_audit.security.tenancy import require_row, scoped

DRAWABLE = (AuditStatus.scheduled.value, AuditStatus.in_progress.value)


@dataclass(frozen=True)
class SamplingDefaults:
    """The settings a draw uses when the request names none (``settings.spot_check_*``)."""

    confidence: float = 0.95
    tolerable_rate: float = 0.05

    @classmethod
    def of(cls, settings: Any) -> SamplingDefaults:
        return cls(settings.spot_check_confidence, settings.spot_check_tolerable_rate)


AUDIT_COLUMNS = (Audit.id, Audit.provider, Audit.kind, Audit.status, Audit.title, Audit.lead_auditor,
                 Audit.sample_seed, Audit.sample_confidence, Audit.sample_tolerable_rate, Audit.population_size,
                 Audit.population_sha256)


async def _audit(caller: Caller, audit_id: UUID | str) -> dict[str, Any]:
    """The audit as the caller may see it: a provider's people only their own provider's (404 otherwise)."""
    row = await scoped(Audit.select(*AUDIT_COLUMNS).where(Audit.id == audit_id), Audit.provider,
                       caller).first().run()
    return require_row(row, "audit", audit_id)


async def on_team(caller: Caller, audit: dict[str, Any]) -> bool:
    if caller.user_id is None:
        return False
    if audit["lead_auditor"] is not None and str(audit["lead_auditor"]) == str(caller.user_id):
        return True
    return await AuditAuditor.exists().where(AuditAuditor.audit == audit["id"],
                                             AuditAuditor.auditor == caller.user_id).run()


async def _require_team(caller: Caller, audit: dict[str, Any], doing: str) -> None:
    """An admin may act on any audit; an auditor only on one they are on."""
    if caller.role == Role.admin or await on_team(caller, audit):
        return
    raise Forbidden(f"Only the auditors on this audit {doing}; you are not on its team.")


def _require_spot_check(audit: dict[str, Any]) -> None:
    if audit["kind"] != AuditKind.device_spot_check.value:
        raise Conflict(f"This audit is a {audit['kind']}, not a device spot-check: it has no sample.",
                       errors=[{"field": "kind", "message": f"is {audit['kind']}"}])


# --- drawing -------------------------------------------------------------------------------------------------


def _size(data: SampleDraw, defaults: SamplingDefaults, population: int) -> tuple[int, float | None, float | None]:
    if data.size is not None:
        for name in ("confidence", "tolerable_rate"):
            if getattr(data, name) is not None:
                raise Invalid.field(name, "give either a fixed size or the sampling settings, not both")
        return min(data.size, population), None, None
    confidence = data.confidence if data.confidence is not None else defaults.confidence
    rate = data.tolerable_rate if data.tolerable_rate is not None else defaults.tolerable_rate
    return sampling.sample_size(population, confidence, rate), confidence, rate


async def draw_sample(caller: Caller, audit_id: UUID, data: SampleDraw,
                      defaults: SamplingDefaults = SamplingDefaults()) -> dict[str, Any]:
    """Draw the audit's sample, once: a second draw is a 409 (the sample is fixed)."""
    policies.DRAW_SPOT_CHECK_SAMPLE.check(caller)
    async with access_log.audited(caller, "spot_check.draw", "audit", audit_id) as log:
        audit = await _audit(caller, audit_id)
        log.provider_id = audit["provider"]
        _require_spot_check(audit)
        await _require_team(caller, audit, "draw its sample")
        if audit["sample_seed"] is not None:
            raise _drawn()
        if audit["status"] not in DRAWABLE:
            raise Conflict(f"The audit is {audit['status']}: a sample is drawn while it is scheduled or in progress.",
                           errors=[{"field": "status", "message": f"is {audit['status']}"}])
        open_rows = await Assignment.select(Assignment.id, Assignment.device).where(
            Assignment.provider == audit["provider"], Assignment.open_device.is_not_null()).run()
        population = sampling.frozen(r["id"] for r in open_rows)
        if not population:
            raise Conflict("The provider holds no devices now (no open assignments): there is nothing to sample.",
                           errors=[{"field": "population", "message": "is empty"}])
        size, confidence, rate = _size(data, defaults, len(population))
        seed = data.seed or secrets.token_hex(16)
        digest = sampling.population_digest(population)
        chosen = sampling.draw(population, size, seed)
        # The claim: only one draw finds sample_seed NULL, whichever process or transaction it runs in.
        claimed = await Audit.update({
            Audit.sample_seed: seed, Audit.sample_confidence: confidence, Audit.sample_tolerable_rate: rate,
            Audit.population_size: len(population), Audit.population_sha256: digest,
        }).where(Audit.id == audit_id, Audit.sample_seed.is_null(),
                 Audit.status.is_in(list(DRAWABLE))).returning(Audit.id).run()
        if not claimed:
            raise _drawn()
        devices = {str(r["id"]): r["device"] for r in open_rows}
        await SpotCheckItem.insert(*[
            SpotCheckItem(audit=audit_id, assignment=ident, device=devices[ident], position=i,
                          audit_assignment=f"{audit_id}:{ident}")
            for i, ident in enumerate(chosen, start=1)]).run()
        how = (f"fixed size {size}" if confidence is None
               else f"confidence {confidence}, tolerable rate {rate}: size {size}")
        log.details.append(f"seed {seed}; {how}; population {len(population)} open assignments, "
                           f"sha256 {digest}")
        await _log_population(caller, audit_id, audit["provider"], population)
        for i, ident in enumerate(chosen, start=1):
            await access_log.append(caller, action="spot_check.sampled", record_type="assignment", record_id=ident,
                                    provider_id=audit["provider"], detail=f"audit {audit_id}, position {i}")
        return await _sample(caller, await _audit(caller, audit_id), "spot_check.draw")


POPULATION_PER_ENTRY = 50  # ids of 36 characters, comma-separated: within an access log entry's 2,000


async def _log_population(caller: Caller, audit_id: Any, provider_id: Any, population: list[str]) -> None:
    """The frozen population itself, in sorted order, across as many entries as it takes ("part 1 of 3: id,id…"):
    with the seed, all anyone needs to draw the sample again (``population_from_log``)."""
    parts = [population[i:i + POPULATION_PER_ENTRY] for i in range(0, len(population), POPULATION_PER_ENTRY)]
    for number, part in enumerate(parts, start=1):
        await access_log.append(caller, action="spot_check.population", record_type="audit", record_id=audit_id,
                                provider_id=provider_id, detail=f"part {number} of {len(parts)}: {','.join(part)}")


def population_from_log(entries: list[dict[str, Any]]) -> list[str]:
    """The frozen population back from its ``spot_check.population`` entries' details (any order)."""
    parts = {}
    for entry in entries:
        head, _, ids = entry["detail"].partition(": ")
        parts[int(head.split()[1])] = ids.split(",") if ids else []
    return [ident for number in sorted(parts) for ident in parts[number]]


def _drawn() -> Conflict:
    return Conflict("This audit's sample has been drawn: it is fixed, and cannot be drawn again.",
                    errors=[{"field": "sample", "message": "is already drawn"}])


# --- reading -------------------------------------------------------------------------------------------------

ITEM_COLUMNS = (*SpotCheckItem.all_columns(), SpotCheckItem.device.asset_tag.as_alias("asset_tag"),
                SpotCheckItem.device.kind.as_alias("device_kind"))


async def _items(caller: Caller, where: Any, via: str) -> list[dict[str, Any]]:
    """Items with their holders as the caller may see them (``present`` decides, and logs what it shows)."""
    items = await SpotCheckItem.select(*ITEM_COLUMNS).where(where).order_by(SpotCheckItem.position).run()
    if not items:
        return []
    rows = await select_assignments().where(Assignment.id.is_in([i["assignment"] for i in items])).run()
    shown = {str(a["id"]): a for a in await present(caller, rows, via)}
    out = []
    for item in items:
        holder = shown[str(item["assignment"])]
        out.append({**item, "audit_id": item["audit"], "assignment_id": item["assignment"],
                    "device_id": item["device"], "incident_id": item["incident"], "provider_id": holder["provider_id"],
                    **{k: holder[k] for k in ("holder_name", "holder_email", "holder_phone", "holder_visible")}})
    return out


async def _sample(caller: Caller, audit: dict[str, Any], via: str) -> dict[str, Any]:
    if audit["sample_seed"] is None:
        items: list[dict[str, Any]] = []
    else:
        items = await _items(caller, SpotCheckItem.audit == audit["id"], via)
    return {"audit_id": audit["id"], "seed": audit["sample_seed"] or "",
            "confidence": _fraction(audit["sample_confidence"]),
            "tolerable_rate": _fraction(audit["sample_tolerable_rate"]),
            "population_size": audit["population_size"] or 0,
            "population_sha256": audit["population_sha256"] or "", "size": len(items), "items": items}


def _fraction(value: float | None) -> float | None:
    # A REAL column on PostgreSQL is single precision: 0.95 comes back as 0.949999988.
    return None if value is None else round(value, 6)


async def get_sample(caller: Caller, audit_id: UUID) -> dict[str, Any]:
    """The sample and its results; holder details only as devices.services.visibility allows."""
    policies.SEE_SPOT_CHECK.check(caller)
    async with access_log.audited(caller, "spot_check.read", "audit", audit_id, writes=False) as log:
        audit = await _audit(caller, audit_id)
        log.provider_id = audit["provider"]
        _require_spot_check(audit)
        if audit["sample_seed"] is None:
            raise Conflict("This spot-check's sample has not been drawn yet: draw it first.",
                           errors=[{"field": "sample", "message": "is not drawn"}])
        return await _sample(caller, audit, "spot_check.read")


# --- recording -----------------------------------------------------------------------------------------------


async def record(caller: Caller, item_id: UUID, data: SpotCheckRecord,
                 clocks: BreachClocks = BreachClocks()) -> dict[str, Any]:
    """Record what the auditor found, while the audit is in progress. Not seen opens a lost-device incident (once
    per item, however often it is recorded) and links it."""
    policies.RECORD_SPOT_CHECK.check(caller)
    note = data.note.strip()
    if data.result == SpotCheckResult.discrepancy and not note:
        raise Invalid.field("note", "say what differed from the register")
    async with access_log.audited(caller, "spot_check.record", "spot_check_item", item_id) as log:
        item = await scoped(SpotCheckItem.select(*ITEM_COLUMNS).where(SpotCheckItem.id == item_id),
                            SpotCheckItem.audit.provider, caller).first().run()
        require_row(item, "spot-check item", item_id)
        audit = await _audit(caller, item["audit"])
        log.provider_id = audit["provider"]
        await _require_team(caller, audit, "record its spot-check")
        if audit["status"] != AuditStatus.in_progress.value:
            raise Conflict(f"The audit is {audit['status']}: results are recorded while it is in progress.",
                           errors=[{"field": "status", "message": f"is {audit['status']}"}])
        now = datetime.now(UTC)
        # The UPDATE locks the item (PostgreSQL) or runs under the write lock (SQLite): a second recording waits,
        # then sees the incident the first linked.
        (updated,) = await SpotCheckItem.update({
            SpotCheckItem.result: data.result.value, SpotCheckItem.note: note,
            SpotCheckItem.recorded_by: caller.user_id, SpotCheckItem.recorded_at: now,
        }).where(SpotCheckItem.id == item_id).returning(SpotCheckItem.incident).run()
        log.details.append(f"device {item['asset_tag']}: {data.result.value}" + (f" ({note})" if note else ""))
        if data.result == SpotCheckResult.not_seen and updated["incident"] is None:
            incident_id = await _open_incident(caller, audit, item, note, now, clocks)
            await SpotCheckItem.update({SpotCheckItem.incident: incident_id}).where(
                SpotCheckItem.id == item_id).run()
            log.details.append(f"incident {incident_id} opened")
        (out,) = await _items(caller, SpotCheckItem.id == item_id, "spot_check.record")
        return out


async def _open_incident(caller: Caller, audit: dict[str, Any], item: dict[str, Any], note: str, now: datetime,
                         clocks: BreachClocks) -> Any:
    holder = await Assignment.select(Assignment.systems).where(Assignment.id == item["assignment"]).first().run()
    systems = ", ".join(s for s in (holder["systems"] if holder else "").split("\n") if s)
    what = f"Not seen at the device spot-check of audit {audit['title'] or audit['id']}"
    data = IncidentCreate(
        device_id=item["device"], kind=IncidentKind.lost, occurred_at=now,
        reported_by=(caller.email or "the auditor")[:120],
        information_at_risk=(f"Whatever the device holds or reaches: {systems}" if systems
                             else "Not known: whatever the device holds or reaches"),
        description=f"{what} on {now.date().isoformat()}." + (f" {note}" if note else ""),
    )
    entry = access_log.Audit(caller, "incident.report", "incident")
    incident = await incidents.open_incident(caller, data, clocks, entry)
    await access_log.append(caller, action="incident.report", record_type="incident", record_id=incident["id"],
                            provider_id=incident["provider_id"], detail="; ".join(entry.details))
    return incident["id"]
