"""Who may do what: one named policy per action, the only place a role decision is written.

Each policy is used three times over, so the three cannot drift apart:

- by its route, as the guard: ``@post("/", guards=[REGISTER_PROVIDER.guard])``;
- by the service function that performs the action, first thing: ``REGISTER_PROVIDER.check(caller)``, so a page or
  a command that forgets a guard still cannot let the wrong person in;
- by pages, to show an action only to those it allows: ``REGISTER_PROVIDER.allows(caller)``.

A policy decides by role alone. Which provider's records a caller sees is tenant scoping, in ``tenancy``.
``tests/security/test_policies.py`` walks every route and fails when its guard and its service's check disagree.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from partner_audit.errors import Forbidden, NotAuthenticated
from partner_audit.security.caller import Caller, Role

# The policies checked while serving this request, in order: the route walk compares them with the route's guard.
CHECKED: ContextVar[tuple[Policy, ...]] = ContextVar("policies_checked", default=())


@dataclass(frozen=True, eq=False)
class Policy:
    name: str
    roles: frozenset[Role]
    why: str

    def allows(self, caller: Caller) -> bool:
        return caller.role in self.roles

    def check(self, caller: Caller) -> None:
        """Refuse a caller this policy does not allow, as the service's first step."""
        CHECKED.set((*CHECKED.get(), self))
        if caller.role is None:
            raise NotAuthenticated("Sign in first.")
        if not self.allows(caller):
            names = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"This needs one of these roles: {names}. You are signed in as {caller.role.value}.")

    def guard(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:
        # Litestar answers OPTIONS itself (the route's Allow header, as public as /schema) without authenticating
        # it, yet runs the route's guards: there is no caller to check, and nothing to protect.
        if connection.scope["method"] == "OPTIONS":
            return
        caller = connection.user
        if not isinstance(caller, Caller) or caller.role is None:
            raise NotAuthenticated("Sign in first.")
        if not self.allows(caller):
            names = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"This needs one of these roles: {names}. You are signed in as {caller.role.value}.")

    def __repr__(self) -> str:
        return self.name

    def __deepcopy__(self, memo: dict) -> Policy:
        # One object per action: Litestar deep-copies a controller's handlers, guards and all, and a copy would
        # no longer be the policy the service checks.
        return self


def policy_of(guard: object) -> Policy | None:
    """The policy behind a route's guard, or None for any other guard."""
    owner = getattr(guard, "__self__", None)
    return owner if isinstance(owner, Policy) else None


def _policy(name: str, *roles: Role, why: str) -> Policy:
    return Policy(name, frozenset(roles), why)


A, P, AU, G = Role.admin, Role.partnerships, Role.auditor, Role.governance
PA, PU = Role.provider_admin, Role.provider_user
EVERYONE = tuple(Role)

# --- one's own account, and what every signed-in person reads ---------------------------------------------------

USE_OWN_ACCOUNT = _policy("USE_OWN_ACCOUNT", *EVERYONE, why="Signing out, one's own password and API tokens.")
READ_CONTROL_LIBRARY = _policy(
    "READ_CONTROL_LIBRARY", *EVERYONE,
    why="Templates are the questionnaires themselves, no provider's data: a provider's people need them to see "
        "what they are answering.")

# --- people and the agency's records ----------------------------------------------------------------------------

MANAGE_USERS = _policy(
    "MANAGE_USERS", A, P, PA,
    why="Admins manage everyone, partnerships the providers' people, a provider's admin their own people; which "
        "roles each may hand out is decided in the users service.")
READ_ACCESS_LOG = _policy("READ_ACCESS_LOG", A, why="The log of everyone's access is the system owner's.")
READ_OUTBOX = _policy("READ_OUTBOX", A, why="The agency's mail to holders at every provider.")

# --- the providers registry --------------------------------------------------------------------------------------

SEE_PROVIDERS = _policy("SEE_PROVIDERS", A, P, AU, PA, PU, why="A provider's own people see their organisation.")
REGISTER_PROVIDER = _policy("REGISTER_PROVIDER", A, P, why="The partnerships team keeps the registry.")
EDIT_PROVIDER = _policy("EDIT_PROVIDER", A, P, why="The partnerships team keeps the registry.")
CHANGE_PROVIDER_STATUS = _policy(
    "CHANGE_PROVIDER_STATUS", A, P, why="Suspending a provider ends its people's access: the agency decides.")

# --- rollouts and self-assessments -------------------------------------------------------------------------------

SEE_ROLLOUTS = _policy("SEE_ROLLOUTS", A, P, AU, why="The agency's timetable; providers see their own assessments.")
PLAN_ROLLOUT = _policy("PLAN_ROLLOUT", A, P, why="The partnerships team plans the assessment rounds.")
LAUNCH_ROLLOUT = _policy("LAUNCH_ROLLOUT", A, P, why="The partnerships team plans the assessment rounds.")
SEE_ASSESSMENTS = _policy(
    "SEE_ASSESSMENTS", A, P, AU, PA, PU, why="The reviewers, and the provider's own people (their own provider's).")
ANSWER_ASSESSMENT = _policy(
    "ANSWER_ASSESSMENT", PA, PU, why="A self-assessment is the provider's own word: agency staff comment, they do "
                                     "not answer.")
CONFIRM_ANSWERS = _policy(
    "CONFIRM_ANSWERS", PA, PU, why="Confirming an answer carried from the last period is giving it again: the "
                                   "provider's own word.")
ATTACH_EVIDENCE = _policy("ATTACH_EVIDENCE", PA, PU, why="Evidence is part of the provider's answer.")
DESCRIBE_EVIDENCE = _policy(
    "DESCRIBE_EVIDENCE", PA, PU, why="When a file stops being good evidence is part of the provider's answer.")
REMOVE_EVIDENCE = _policy("REMOVE_EVIDENCE", PA, PU, why="Evidence is part of the provider's answer.")
DOWNLOAD_EVIDENCE = _policy("DOWNLOAD_EVIDENCE", A, P, AU, PA, PU, why="Those who see the assessment.")
SUBMIT_ASSESSMENT = _policy("SUBMIT_ASSESSMENT", PA, why="The provider's admin (its privacy lead) signs it off.")
RETURN_ASSESSMENT = _policy("RETURN_ASSESSMENT", A, AU, why="Reviewing is the auditors' work.")
ACCEPT_ASSESSMENT = _policy("ACCEPT_ASSESSMENT", A, AU, why="Reviewing is the auditors' work.")
REOPEN_ASSESSMENT = _policy("REOPEN_ASSESSMENT", A, AU, why="Reviewing is the auditors' work.")
COMMENT_ON_ASSESSMENT = _policy(
    "COMMENT_ON_ASSESSMENT", A, AU, PA, PU,
    why="A comment thread is a conversation about the answers: the reviewers raise questions and the provider's own "
        "people (their own provider's assessments) answer them. When each may write is the review service's rule.")
RAISE_REVIEW_QUESTION = _policy(
    "RAISE_REVIEW_QUESTION", A, AU,
    why="A reviewer's comment raises its question for the provider to answer, and a reviewer may comment while the "
        "assessment is with them (submitted); anyone else's comment answers.")

# --- the device register -----------------------------------------------------------------------------------------

SEE_REGISTER = _policy(
    "SEE_REGISTER", A, P, AU, PA, PU,
    why="The register is run by partnerships and admin; auditors and a provider's people read it (a provider's "
        "people: what their provider holds). Governance sees aggregates only, in the reports.")
REGISTER_DEVICE = _policy("REGISTER_DEVICE", A, P, why="The agency runs the register.")
EDIT_DEVICE = _policy("EDIT_DEVICE", A, P, why="The agency runs the register.")
CHANGE_DEVICE_STATUS = _policy("CHANGE_DEVICE_STATUS", A, P, why="The agency runs the register.")
CHECK_OUT_DEVICE = _policy("CHECK_OUT_DEVICE", A, P, why="The agency decides who holds its devices.")
CHECK_IN_DEVICE = _policy("CHECK_IN_DEVICE", A, P, why="The agency records a device's return.")
TRANSFER_DEVICE = _policy("TRANSFER_DEVICE", A, P, why="A check-in and a check-out in one step.")
IMPORT_DEVICES = _policy("IMPORT_DEVICES", A, P, why="A bulk change of the register is the agency's.")
REPORT_INCIDENT = _policy(
    "REPORT_INCIDENT", A, P, PA, PU, why="A provider's people report what happened to a device their provider holds.")
SEE_INCIDENT_SUMMARY = _policy(
    "SEE_INCIDENT_SUMMARY", A, P, AU, G, PA, PU,
    why="Counts of incidents, near misses and breach assessments, with no personal information: governance's "
        "aggregates, and a provider's people see their own provider's counts.")
SEE_BREACH_ASSESSMENTS = _policy("SEE_BREACH_ASSESSMENTS", A, P, AU, why="The agency's privacy breach work.")
UPDATE_BREACH_ASSESSMENT = _policy("UPDATE_BREACH_ASSESSMENT", A, P, why="The agency notifies, not the provider.")
CLOSE_BREACH_ASSESSMENT = _policy("CLOSE_BREACH_ASSESSMENT", A, P, why="The agency notifies, not the provider.")
REQUEST_ATTESTATION = _policy("REQUEST_ATTESTATION", A, P, why="The agency asks holders to attest.")
RECORD_ATTESTATION = _policy("RECORD_ATTESTATION", A, P, why="An attestation a holder made to agency staff.")
SEE_HOLDER_DETAILS = _policy(
    "SEE_HOLDER_DETAILS", A, P, PA,
    why="A holder's name, email, phone and history are their personal information: partnerships, admin, and the "
        "admins of the holder's own provider (scoped by tenancy). Auditors see them only for the devices in the "
        "sample of a spot-check they are on, during it (devices.services.visibility).")
ANSWER_PRIVACY_REQUEST = _policy(
    "ANSWER_PRIVACY_REQUEST", A, P, why="A Privacy Act request is answered by partnerships or an admin.")

# --- audits ------------------------------------------------------------------------------------------------------
# A provider's people see their own provider's audits (which are coming, what was found); its admin answers the
# corrective actions. Governance sees audits only as aggregates, in the reports.

SEE_AUDITS = _policy(
    "SEE_AUDITS", A, P, AU, PA, PU,
    why="The auditors' work, which partnerships follows; a provider's people see their own provider's audits.")
CREATE_AUDIT = _policy("CREATE_AUDIT", A, AU, why="Auditors schedule audits.")
EDIT_AUDIT = _policy("EDIT_AUDIT", A, AU, why="Dates, scope and the audit team are the auditors' to set.")
SCHEDULE_AUDIT = _policy("SCHEDULE_AUDIT", A, AU, why="Auditors commit to a proposed audit.")
START_AUDIT = _policy("START_AUDIT", A, AU, why="Auditors do the audit.")
REPORT_AUDIT = _policy("REPORT_AUDIT", A, AU, why="Auditors report what they found.")
CLOSE_AUDIT = _policy("CLOSE_AUDIT", A, AU, why="Auditors close an audit once its findings are dealt with.")
CANCEL_AUDIT = _policy("CANCEL_AUDIT", A, AU, why="Auditors cancel an audit, with a reason.")
PLAN_AUDITS = _policy("PLAN_AUDITS", A, AU, why="Auditors plan their reviews of every provider.")
ACCEPT_AUDIT_PLAN = _policy("ACCEPT_AUDIT_PLAN", A, AU, why="Auditors commit to what a plan proposes.")
SEE_AUDITOR_AVAILABILITY = _policy(
    "SEE_AUDITOR_AVAILABILITY", A, AU, why="Auditors' capacity, leave and conflicts are the assurance team's own.")
MANAGE_AUDITOR_AVAILABILITY = _policy(
    "MANAGE_AUDITOR_AVAILABILITY", A, AU,
    why="An auditor records their own capacity and leave; an admin anyone's (the service decides whose).")
DECLARE_CONFLICT = _policy(
    "DECLARE_CONFLICT", A, AU, why="An auditor declares their own conflicts; an admin records anyone's.")
SEE_FINDINGS = _policy(
    "SEE_FINDINGS", A, P, AU, PA, PU, why="What an audit found: the auditors, partnerships, and the provider's people "
                                          "(their own provider's).")
RECORD_FINDING = _policy("RECORD_FINDING", A, AU, why="Findings are the auditors' judgement.")
ATTACH_FINDING_EVIDENCE = _policy("ATTACH_FINDING_EVIDENCE", A, AU, why="What the auditor saw.")
SEE_CORRECTIVE_ACTIONS = _policy(
    "SEE_CORRECTIVE_ACTIONS", A, P, AU, PA,
    why="The fixes an audit asked for: the auditors, partnerships, and the provider's admin (its own provider's), "
        "who answers them.")
RAISE_CORRECTIVE_ACTION = _policy("RAISE_CORRECTIVE_ACTION", A, AU, why="Auditors ask for the fix.")
RESPOND_TO_CORRECTIVE_ACTION = _policy(
    "RESPOND_TO_CORRECTIVE_ACTION", PA, why="The provider's privacy lead answers for its fixes.")
ATTACH_ACTION_EVIDENCE = _policy(
    "ATTACH_ACTION_EVIDENCE", PA, why="Evidence of a fix is part of the provider's response.")
VERIFY_CORRECTIVE_ACTION = _policy(
    "VERIFY_CORRECTIVE_ACTION", A, AU, why="Auditors verify the fix, or return it with a reason.")
RETURN_CORRECTIVE_ACTION = _policy(
    "RETURN_CORRECTIVE_ACTION", A, AU, why="Auditors verify the fix, or return it with a reason.")
CARRY_FORWARD_CORRECTIVE_ACTION = _policy(
    "CARRY_FORWARD_CORRECTIVE_ACTION", A, AU,
    why="Leaving a fix open past the audit's close is the auditors' explicit decision.")
DOWNLOAD_AUDIT_EVIDENCE = _policy(
    "DOWNLOAD_AUDIT_EVIDENCE", A, P, AU, PA, why="Those who see the findings and corrective actions it is attached to.")
DRAW_SPOT_CHECK_SAMPLE = _policy("DRAW_SPOT_CHECK_SAMPLE", A, AU, why="The auditors draw the sample they check.")
RECORD_SPOT_CHECK = _policy("RECORD_SPOT_CHECK", A, AU, why="The auditors record what they saw.")
SEE_SPOT_CHECK = _policy(
    "SEE_SPOT_CHECK", A, P, AU, PA,
    why="A spot-check's sample and results; holder details within it only as devices.services.visibility allows.")
SEE_CALENDAR = _policy(
    "SEE_CALENDAR", A, P, AU, PA, PU, why="When audits happen: a provider's people see their own provider's.")
MANAGE_CALENDAR_FEEDS = _policy(
    "MANAGE_CALENDAR_FEEDS", A, AU, PA,
    why="An auditor subscribes to their own audits, a provider's admin to their provider's; an admin to anyone's.")

# --- scores and reports -----------------------------------------------------------------------------------------

SEE_PROVIDER_SCORES = _policy(
    "SEE_PROVIDER_SCORES", A, P, AU, PA, PU,
    why="One provider's scores over time: the agency's teams, and a provider's people their own provider's.")
SEE_SCORE_AGGREGATES = _policy(
    "SEE_SCORE_AGGREGATES", A, P, AU, G,
    why="Scores across providers; governance sees aggregates only, small groups suppressed (reports.services).")
MAKE_QUARTERLY_REPORT = _policy(
    "MAKE_QUARTERLY_REPORT", A, P, AU, G,
    why="The quarterly governance report (rec 18); governance receives its edition without provider names.")
