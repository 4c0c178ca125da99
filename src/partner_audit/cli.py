"""The ``partner-audit`` command: every subcommand is listed by ``partner-audit --help``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from partner_audit import db
from partner_audit.errors import DomainError, Invalid
from partner_audit.settings import Settings, SettingsError, load_settings


def _fail(message: str, code: int = 2) -> int:
    print(f"partner-audit: {message}", file=sys.stderr)
    return code


def _iso_date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


async def _with_db(settings: Settings, work: Callable[[], Awaitable[Any]], *, need_schema: bool = True) -> Any:
    """``work`` inside the app's own lifespan, so a command starts and stops exactly as the service does."""
    from partner_audit.app import lifespan

    async with lifespan(settings, need_schema=need_schema):
        return await work()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied = asyncio.run(_with_db(settings, db.migrate, need_schema=False))
    if not applied:
        print("the database is up to date")
        return 0
    for migration_id in applied:
        print(f"  {migration_id}  {db.describe_migration(migration_id)}")
    print(f"applied {len(applied)} migration(s); the database is up to date")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from partner_audit import server_log

    # --host and --port win over PA_HOST and PA_PORT; the workers read the same settings from the environment.
    if args.host:
        os.environ["PA_HOST"] = args.host
    if args.port:
        os.environ["PA_PORT"] = str(args.port)
    settings = load_settings()
    # Fail here, in one line, rather than inside a worker's start-up.
    asyncio.run(_with_db(settings, lambda: asyncio.sleep(0)))
    print(f"partner-audit: serving on http://{settings.host}:{settings.port}/  (API docs: /schema)", flush=True)
    uvicorn.run(
        "partner_audit.app:create_app", factory=True, host=settings.host, port=settings.port,
        workers=args.workers, proxy_headers=True, forwarded_allow_ips=os.environ.get("PA_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info", log_config=server_log.uvicorn_log_config(),
    )
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from uuid import UUID

    from partner_audit.security import service
    from partner_audit.security.caller import Caller, Role

    password = os.environ.get("PA_NEW_USER_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    row = asyncio.run(_with_db(settings, lambda: service.create_user(
        Caller.system("create-user"), email=args.email, full_name=args.name or args.email.split("@")[0],
        role=Role(args.role), password=password, provider_id=UUID(args.provider) if args.provider else None,
    )))
    print(f"created {row['role']} {row['email']} ({row['id']})")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit import demo

    made = asyncio.run(_with_db(settings, lambda: demo.load(settings)))
    print("\nThe demo holds:")
    for line in made.made:
        print(f"  - {line}")
    print("\nDemo logins (passwords are new each time `partner-audit demo` runs):")
    width = max(len(email) for _, email, _ in made.logins)
    for role, email, password in made.logins:
        print(f"  {role:<15} {email:<{width}}  {password}")
    print(f"\nSign in at http://{settings.host}:{settings.port}/ or try the API at "
          f"http://{settings.host}:{settings.port}/schema")
    return 0


def cmd_access_log_verify(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.security import access_log

    result = asyncio.run(_with_db(settings, access_log.verify))
    if result.checkpoint_position is not None:
        against = f"against the checkpoint of {result.checkpoint_at} (position {result.checkpoint_position})"
    else:
        against = "with no checkpoint yet"
    waiting = ""
    if result.unsealed:
        waiting = f"; {result.unsealed} not yet sealed (the oldest written {result.oldest_unsealed_at:%Y-%m-%d %H:%M:%S})"
    if result.ok:
        print(f"access log intact: {result.sealed} entries sealed and verified in order, {against}{waiting}")
        return 0
    where = f" at position {result.broken_position}" if result.broken_position else ""
    print(f"access log BROKEN{where}: {result.reason} ({result.sealed} entries before it verified, {against})",
          file=sys.stderr)
    return 1


def cmd_access_log_seal(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.security import access_log

    sealed = asyncio.run(_with_db(settings, lambda: access_log.seal(everything=True)))
    print(f"sealed {sealed} entries; the checkpoint names the head")
    return 0


def cmd_templates_check(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.controls import service, yaml

    failed = False
    for path in args.files:
        try:
            text = yaml.read_file(path)
            problems = yaml.check_text(text)
        except DomainError as exc:
            problems = [yaml.Problem("", exc.detail)]
        except OSError as exc:
            problems = [yaml.Problem("", f"cannot read the file: {exc.strerror}")]
        if not problems:
            template = yaml.parse(text)
            counts = service.counts(template)
            print(f"{path}: ok ({template.key} {template.version}: {counts['areas']} focus areas, "
                  f"{counts['controls']} controls, {counts['questions']} questions)")
            continue
        failed = True
        for problem in problems:
            print(f"{path}: {problem}")
        print(f"{path}: {len(problems)} problem(s)")
    return 1 if failed else 0


def cmd_templates_load(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.controls import service
    from partner_audit.progress import progress

    files = args.files or sorted(service.TEMPLATES_DIR.glob("*.yaml"))
    if not files:
        return _fail(f"no *.yaml templates in {service.TEMPLATES_DIR}")

    async def load_all() -> tuple[list[str], int]:
        report, failures = [], 0
        for path in progress(files, "loading templates"):
            try:
                row, created = await service.load_file(path)
            except (DomainError, OSError) as exc:
                failures += 1
                if isinstance(exc, OSError):
                    reason = f"cannot read the file: {exc.strerror}"
                else:  # a broken template's problems are listed one a line below
                    reason = f"{len(exc.errors)} problem(s)" if isinstance(exc, Invalid) else exc.detail
                report.append(f"{path}: NOT loaded: {reason}")
                report.extend(f"{path}:   {e['field']}: {e['message']}"
                              for e in getattr(exc, "errors", []) if e["field"])
                continue
            what = "loaded new version" if created else "unchanged, already loaded as"
            report.append(f"{path}: {what} {row['key']} {row['version']} ({row['id']})")
        return report, failures

    report, failures = asyncio.run(_with_db(settings, load_all))
    print("\n".join(report))
    return 1 if failures else 0


def cmd_templates_list(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.controls import service

    from partner_audit.security.caller import Caller

    rows = asyncio.run(_with_db(settings, lambda: service.list_versions(Caller.system("templates-list"))))
    if not rows:
        print("no templates loaded yet: run `partner-audit templates load`")
    for row in rows:
        questions = len(service.template_of(row).questions())
        print(f"{row['id']}  {row['key']:<20} {row['version']:<10} {questions:>3} questions  "
              f"loaded {row['loaded_at']:%Y-%m-%d %H:%M}  {row['title']}")
    return 0


def cmd_send_mail(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.outbox import service as outbox

    if settings.smtp_host is None:
        return _fail("PA_SMTP_HOST is not set: say which SMTP server delivers the mail")
    if args.once:
        result = asyncio.run(_with_db(settings, lambda: outbox.deliver_due(settings)))
        print(f"sent {result.sent}, will retry {result.retrying}, gave up {result.failed}")
        return 0 if not (result.retrying or result.failed) else 1
    import logging
    import signal

    async def until_stopped() -> None:
        # Ctrl-C or SIGTERM lets the pass under way finish: a message the SMTP server accepted is recorded as
        # sent, instead of being sent again by the next sender after its lease.
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await outbox.run_sender(settings, stop)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(f"partner-audit: sending mail through {settings.smtp_host}:{settings.smtp_port} (Ctrl-C stops)", flush=True)
    asyncio.run(_with_db(settings, until_stopped))
    print("partner-audit: sender stopped", flush=True)
    return 0


def cmd_attestations_send(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.devices.services import attestations
    from partner_audit.security.caller import Caller

    issued = asyncio.run(_with_db(settings, lambda: attestations.send_due_links(
        settings, Caller.system("attestations-send"), args.within_days)))
    for item in issued:
        print(f"{item['asset_tag']}: due {item['due_on']}, link mailed (expires {item['expires_at']:%Y-%m-%d})")
    print(f"{len(issued)} attestation link(s) queued in the outbox"
          + ("" if settings.smtp_host else " (PA_SMTP_HOST is not set: `partner-audit send-mail` cannot deliver yet)"))
    return 0


def cmd_import_devices(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.devices.services import imports
    from partner_audit.devices.xlsx.reading import Source
    from partner_audit.progress import progress
    from partner_audit.security.caller import Caller

    if not args.file.is_file():
        return _fail(f"{args.file}: no such file")
    source = Source(args.file.name, path=args.file)
    try:
        report = asyncio.run(_with_db(settings, lambda: imports.import_devices(
            Caller.system("import"), source, dry_run=args.dry_run, progress=progress,
            default_purpose=args.default_purpose)))
    except Invalid as exc:
        for error in exc.errors:
            print(f"{args.file}: {error['field']}: {error['message']}", file=sys.stderr)
        shown = len(exc.errors)
        total = exc.extra.get("error_count", shown)
        more = f" ({shown} shown)" if total > shown else ""
        return _fail(f"{args.file}: {total} problem(s){more}, so nothing was imported", code=1)
    for change in report["changes"]:
        if change["action"] == "unchanged" and change["assignment"] in ("none", "keep"):
            continue
        what = f"{change['action']} ({', '.join(change['changes'])})" if change["changes"] else change["action"]
        print(f"row {change['row']}: {change['asset_tag']}: {what}; assignment: {change['assignment']}")
    for error in report["errors"]:
        print(f"{args.file}: {error['field']}: {error['message']}")
    for warning in report["warnings"]:
        print(f"{args.file}: warning: {warning['field']}: {warning['message']}")
    if report["ignored_columns"]:
        print("ignored columns: " + ", ".join(report["ignored_columns"]))
    moved = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in report["assignments"].items() if n) or "none"
    verb = "would create" if args.dry_run else "created"
    print(f"{report['rows']} rows: {verb} {report['created']}, updated {report['updated']}, unchanged "
          f"{report['unchanged']}; assignments: {moved}"
          + (f"; {report['error_count']} problem(s)" if report["error_count"] else "")
          + (f"; {report['warning_count']} warning(s)" if report["warning_count"] else "")
          + (f"; {report['default_purpose_rows']} check-out(s) with the default purpose"
             if report["default_purpose_rows"] else "")
          + ("" if not args.dry_run else " (dry run: nothing changed)"))
    return 1 if report["error_count"] else 0


def cmd_export_devices(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.devices.services import exports
    from partner_audit.security.caller import Caller
    from partner_audit.spreadsheets import ExportFormat

    suffix = args.file.suffix.lower().lstrip(".")
    if suffix not in {f.value for f in ExportFormat}:
        return _fail(f"{args.file}: name the file .xlsx or .csv")
    fmt, caller = ExportFormat(suffix), Caller.system("export")
    if args.holder:
        export = asyncio.run(_with_db(settings, lambda: exports.export_history(caller, args.holder, fmt)))
    else:
        export = asyncio.run(_with_db(settings, lambda: exports.export_register(caller, fmt)))
    args.file.write_bytes(export.content)
    print(f"wrote {export.rows} {'assignments' if args.holder else 'devices'} to {args.file}")
    return 0


def cmd_retention(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from partner_audit.devices.services import privacy
    from partner_audit.progress import progress

    result = asyncio.run(_with_db(settings, lambda: privacy.apply_retention(
        datetime.now(UTC).date(), settings.retention_months, dry_run=args.dry_run,
        each=lambda rows: progress(rows, "redacting holder details"))))
    rule = (f"PA_RETENTION_MONTHS={settings.retention_months}: devices back on or before "
            f"{result.cutoff.isoformat()} are due")
    if not result.due:
        print(f"nothing to redact ({rule})")
        return 0
    if args.dry_run:
        for row in result.due:
            print(f"would redact assignment {row['id']}: device {row['asset_tag']} at {row['provider_name']}, "
                  f"back on {privacy.came_back_on(row).isoformat()}")
        print(f"{len(result.due)} assignment(s) would be redacted ({rule}; dry run: nothing changed)")
        return 0
    print(f"redacted {result.redacted} assignment(s), each logged ({rule})")
    return 0


def cmd_audits_plan(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.audits import plan_text
    from partner_audit.audits.services import planning
    from partner_audit.progress import progress
    from partner_audit.security.caller import Caller

    caller = Caller.system("audits-plan")

    async def run() -> tuple[dict[str, Any], int]:
        print(f"planning {args.starts_on.isoformat()} to {args.ends_on.isoformat()}: loading providers, auditors, "
              "leave, conflicts, bookings and scores", file=sys.stderr)
        plan = await planning.plan(caller, args.starts_on, args.ends_on, settings,
                                   each=lambda rows: progress(rows, "booking proposals"))
        accepted = 0
        if args.accept:
            accepted, plan = await planning.accept(caller, plan["id"])
        return plan, accepted

    plan, accepted = asyncio.run(_with_db(settings, run))
    print("\n".join(plan_text.summary(plan, reasons=args.reasons)))
    if args.accept:
        print(f"\naccepted {accepted} proposal(s): now scheduled")
    elif plan["proposals"]:
        print(f"\nnothing is scheduled yet: accept with POST /api/v1/audit-plans/{plan['id']}/accept, or plan with "
              "--accept; each proposal's reasons are in GET /api/v1/audit-plans/{id}")
    return 0


def cmd_privacy_request(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.devices.services import privacy
    from partner_audit.security.caller import Caller

    export = asyncio.run(_with_db(settings, lambda: privacy.export_person(
        Caller.system("privacy-request"), args.email, settings.retention_months)))
    args.outfile.write_bytes(export.content)
    held = ", ".join(f"{n} {name.lower()}" for name, n in export.counts.items())
    print(f"wrote {args.outfile}: {held} (reference {export.reference}, logged)")
    return 0


# --- audits: reminders and follow-ups (scheduled work; both safe to repeat, in several processes at once) ---------


def _nz_today() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Pacific/Auckland")).date()


def cmd_reminders(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.audits.services import reminders
    from partner_audit.progress import progress

    today = args.today or _nz_today()
    counts = asyncio.run(_with_db(settings, lambda: reminders.send_due_reminders(settings, today, progress)))
    for kind, count in counts.items():
        print(f"  {kind:<20} {count}")
    print(f"{sum(counts.values())} reminder(s) queued in the outbox for {today.isoformat()}"
          + ("" if settings.smtp_host else " (PA_SMTP_HOST is not set: `partner-audit send-mail` cannot deliver yet)"))
    return 0


def cmd_audits_follow_ups(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.audits.services import reminders, triggers

    today = args.today or _nz_today()
    proposed = asyncio.run(_with_db(settings, lambda: triggers.propose_follow_ups(settings, today)))
    for p in proposed:
        print(f"{p.provider_name}: {reminders.KIND_WORDS[p.kind]} proposed to start {p.starts_on.isoformat()} "
              f"(audit {p.audit_id}, {p.origin_key})")
        for what, why in p.reasons.items():
            print(f"    {what}: {why}")
    print(f"{len(proposed)} follow-up audit(s) proposed for {today.isoformat()}; each waits for an auditor to "
          "schedule or cancel it" if proposed else f"nothing new to follow up on {today.isoformat()}")
    return 0


# --- reports ---------------------------------------------------------------------------------------------------


def _quarter(text: str) -> Any:
    from partner_audit.reports.quarters import Quarter

    try:
        return Quarter.parse(text)
    except Invalid as exc:
        raise argparse.ArgumentTypeError(exc.errors[0]["message"]) from None


def _step_printer(out: Any = sys.stderr) -> Callable[[str, int, int], None]:
    """The report service's progress (a step's label, steps done, steps in all), one line a step."""
    def show(label: str, done: int, total: int) -> None:
        print(f"report: {label} ({done}/{total})", file=out, flush=True)
    return show


def cmd_report_quarterly(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from partner_audit.reports import xlsx
    from partner_audit.reports.schemas import Audience
    from partner_audit.reports.services import quarterly
    from partner_audit.security.caller import Caller

    audience = Audience(args.audience)
    report = asyncio.run(_with_db(settings, lambda: quarterly.quarterly_report(
        Caller.system("report"), args.quarter, audience=audience, progress=_step_printer())))
    out = args.out or Path(xlsx.file_name(report))
    out.write_bytes(xlsx.workbook(report))
    print(f"wrote the {audience.value} edition of the quarterly report for {report.quarter} "
          f"({report.starts_on.isoformat()} to {report.ends_on.isoformat()}) to {out}")
    if args.json:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(report)) + b"\n")
        print(f"wrote its JSON to {args.json}")
    heading = None
    for h in report.headlines:
        if h.heading != heading:
            heading = h.heading
            print(f"{heading}:")
        print(f"  {h.label}: {_figure(h.value, h.unit)} (last quarter {_figure(h.previous, h.unit)}"
              f"{'' if h.change is None else ', change ' + _figure(h.change, h.unit, sign=True)})")
    return 0


def _figure(value: float | int | None, unit: str, sign: bool = False) -> str:
    if value is None:
        return "none"
    shown = f"{value:+.1f}" if sign and isinstance(value, float) else f"{value:+d}" if sign else (
        f"{value:.1f}" if isinstance(value, float) else str(value))
    return shown + ("%" if unit == "%" else "")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="partner-audit",
        description="Privacy controls rolled out to contracted providers: self-assessed, audited and reported. "
                    "Settings come from PA_* environment variables (README: Settings).",
        epilog="`partner-audit COMMAND --help` describes one command and its options.")
    sub = p.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    s = sub.add_parser("serve", help="run the web service")
    s.add_argument("--host", help="address to listen on (default PA_HOST, else 127.0.0.1)")
    s.add_argument("--port", type=int, choices=range(1, 65536), metavar="PORT",
                   help="port to listen on (default PA_PORT, else 8000)")
    s.add_argument("--workers", type=int, default=1, help="app processes (default 1)")
    s.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)

    c = sub.add_parser("create-user", help="make an account (the first admin, say)")
    c.add_argument("--email", required=True)
    c.add_argument("--role", required=True,
                   choices=["admin", "partnerships", "auditor", "governance", "provider_admin", "provider_user"])
    c.add_argument("--name", help="full name (default: the email's local part)")
    c.add_argument("--provider", help="provider id, for provider roles")
    c.set_defaults(func=cmd_create_user)

    sub.add_parser("demo", help="load demo providers and users, and print their logins").set_defaults(func=cmd_demo)

    a = sub.add_parser("access-log", help="the tamper-evident access log")
    a_sub = a.add_subparsers(dest="access_log_command", required=True)
    a_sub.add_parser("verify", help="check every sealed entry, the chain and the checkpoint; names the first "
                                    "entry removed, reordered or rewritten").set_defaults(func=cmd_access_log_verify)
    a_sub.add_parser("seal", help="seal the entries waiting now (the service does this every few seconds)"
                     ).set_defaults(func=cmd_access_log_seal)

    m = sub.add_parser("send-mail", help="deliver the outbox over SMTP; safe to run in several processes")
    m.add_argument("--once", action="store_true", help="one pass over the due messages, then exit")
    m.set_defaults(func=cmd_send_mail)

    at = sub.add_parser("attestations", help="device holders' attestations")
    at_sub = at.add_subparsers(dest="attestations_command", required=True)
    ats = at_sub.add_parser("send", help="mail a link to every holder whose attestation is due soon or overdue "
                                         "and who has no unused link; run it daily (safe to repeat)")
    ats.add_argument("--within-days", type=int, default=7, metavar="N",
                     help="attestations due within N days (default 7); overdue ones always")
    ats.set_defaults(func=cmd_attestations_send)

    i = sub.add_parser("import", help="bulk import from .xlsx or .csv")
    i_sub = i.add_subparsers(dest="import_command", required=True)
    idev = i_sub.add_parser("devices", help="devices and their current holders; all rows or none (README: "
                                            "Importing the device register)")
    idev.add_argument("file", metavar="FILE", type=Path)
    idev.add_argument("--dry-run", action="store_true", help="check and show what would change, change nothing")
    idev.add_argument("--default-purpose", metavar="TEXT",
                      help="what a device is for when its row has no purpose (a Snipe-IT export has no such "
                           "column); the report counts the rows that used it")
    idev.set_defaults(func=cmd_import_devices)

    e = sub.add_parser("export", help="exports as .xlsx or .csv (by the file's name)")
    e_sub = e.add_subparsers(dest="export_command", required=True)
    edev = e_sub.add_parser("devices", help="the device register with current holders, or one holder's history")
    edev.add_argument("file", metavar="FILE", type=Path)
    edev.add_argument("--holder", metavar="EMAIL", help="every device this person has held, instead")
    edev.set_defaults(func=cmd_export_devices)

    r = sub.add_parser("retention", help="redact device holders' details PA_RETENTION_MONTHS after the device "
                                         "came back; each redaction is logged; safe to run again")
    r.add_argument("--dry-run", action="store_true", help="list what would be redacted, change nothing")
    r.set_defaults(func=cmd_retention)

    pr = sub.add_parser("privacy-request", help="everything held about one device holder, as an .xlsx file "
                                                "(Privacy Act request); the export is logged")
    pr.add_argument("email", metavar="EMAIL", help="the holder's email (case does not matter)")
    pr.add_argument("outfile", metavar="OUTFILE", type=Path, help="the .xlsx file to write")
    pr.set_defaults(func=cmd_privacy_request)

    au = sub.add_parser("audits", help="audits: the risk-based plan, and the follow-ups that triggers propose")
    au_sub = au.add_subparsers(dest="audits_command", required=True)
    ap = au_sub.add_parser("plan", help="propose the audits due in a date range (tier intervals, working days, "
                                        "auditors' capacity, leave and conflicts), each with its reasons")
    ap.add_argument("--from", dest="starts_on", required=True, type=_iso_date, metavar="YYYY-MM-DD")
    ap.add_argument("--to", dest="ends_on", required=True, type=_iso_date, metavar="YYYY-MM-DD")
    ap.add_argument("--accept", action="store_true", help="accept the whole plan: its proposals become scheduled")
    ap.add_argument("--reasons", action="store_true", help="list every proposal with why this provider, date and "
                                                           "auditor")
    ap.set_defaults(func=cmd_audits_plan)

    t = sub.add_parser("templates", help="the control library: questionnaire templates in audit_templates/")
    t_sub = t.add_subparsers(dest="templates_command", required=True)
    tc = t_sub.add_parser("check", help="report every problem in template files, with its place in the file")
    tc.add_argument("files", nargs="+", metavar="FILE", type=Path)
    tc.set_defaults(func=cmd_templates_check)
    tl = t_sub.add_parser("load", help="load new template versions (unchanged content is skipped)")
    tl.add_argument("files", nargs="*", metavar="FILE", type=Path, help="default: every *.yaml in audit_templates/")
    tl.set_defaults(func=cmd_templates_load)
    t_sub.add_parser("list", help="loaded template versions, newest first").set_defaults(func=cmd_templates_list)

    rem = sub.add_parser("reminders", help="queue the reminders due today (audits, self-assessments, corrective "
                                           "actions, attestations); run it daily from cron (safe to repeat)")
    rem.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="the day to act as (default: today in NZ)")
    rem.set_defaults(func=cmd_reminders)

    auf = au_sub.add_parser("follow-ups", help="propose a follow-up audit for each low-scoring accepted "
                                               "self-assessment and lost or stolen device, with the reason; run it "
                                               "daily (safe to repeat)")
    auf.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD", help="the day to act as (default: today in NZ)")
    auf.set_defaults(func=cmd_audits_follow_ups)

    rep = sub.add_parser("report", help="reports: the quarterly governance report (recommendation 18)")
    rep_sub = rep.add_subparsers(dest="report_command", required=True)
    rq = rep_sub.add_parser("quarterly", help="the quarterly privacy report as an .xlsx workbook (and JSON), with "
                                              "its headline figures printed")
    rq.add_argument("quarter", type=_quarter, metavar="QUARTER", help="the quarter, e.g. 2025-Q3")
    rq.add_argument("--audience", choices=["full", "governance"], default="full",
                    help="governance: the committee's edition, aggregates only with no provider names and small "
                         "groups suppressed (default: full)")
    rq.add_argument("--out", type=Path, metavar="FILE.xlsx",
                    help="the workbook to write (default: quarterly-report-QUARTER.xlsx here)")
    rq.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    rq.set_defaults(func=cmd_report_quarterly)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.func(settings, args)
    except SettingsError as exc:
        return _fail(f"bad setting: {exc}")
    except db.MigrationsPending as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.detail)
    except OSError as exc:
        return _fail(f"cannot reach the database or a file: {exc}")


if __name__ == "__main__":
    sys.exit(main())
