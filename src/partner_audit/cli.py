"""The ``partner-audit`` command: serve, migrate, create-user, demo, access-log verify, templates."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from partner_audit import db
from partner_audit.errors import DomainError, Invalid
from partner_audit.settings import Settings, SettingsError, load_settings


def _fail(message: str, code: int = 2) -> int:
    print(f"partner-audit: {message}", file=sys.stderr)
    return code


async def _with_db(settings: Settings, work: Callable[[], Awaitable[Any]], *, need_schema: bool = True) -> Any:
    from partner_audit.piccolo_app import TABLES

    engine = db.engine_from_url(settings.database_url)
    db.bind(engine, TABLES)
    await db.start(engine)
    try:
        if need_schema:
            await db.require_current_schema()
        return await work()
    finally:
        await db.stop(engine)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied = asyncio.run(_with_db(settings, db.migrate, need_schema=False))
    print(f"applied {len(applied)} migration(s)" if applied else "the database is up to date")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    # Fail here, in one line, rather than inside a worker's start-up.
    asyncio.run(_with_db(settings, lambda: asyncio.sleep(0)))
    print(f"partner-audit: serving on http://{settings.host}:{settings.port}/  (API docs: /schema)", flush=True)
    uvicorn.run(
        "partner_audit.app:create_app", factory=True, host=settings.host, port=settings.port,
        workers=args.workers, proxy_headers=True, forwarded_allow_ips=os.environ.get("PA_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        log_level="info",
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

    logins = asyncio.run(_with_db(settings, demo.load))
    print("\nDemo logins (passwords are new each time `partner-audit demo` runs):")
    width = max(len(email) for _, email, _ in logins)
    for role, email, password in logins:
        print(f"  {role:<15} {email:<{width}}  {password}")
    print(f"\nSign in at http://{settings.host}:{settings.port}/ or try the API at "
          f"http://{settings.host}:{settings.port}/schema")
    return 0


def cmd_access_log_verify(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.security import access_log

    result = asyncio.run(_with_db(settings, access_log.verify))
    if result.ok:
        print(f"access log intact: {result.entries} entries verified")
        return 0
    print(f"access log BROKEN at entry {result.broken_seq}: {result.reason} "
          f"({result.entries} entries before it verified)", file=sys.stderr)
    return 1


def cmd_templates_check(settings: Settings, args: argparse.Namespace) -> int:
    from partner_audit.controls import service

    failed = False
    for path in args.files:
        try:
            text = service.read_file(path)
            problems = service.check_text(text)
        except DomainError as exc:
            problems = [service.Problem("", exc.detail)]
        except OSError as exc:
            problems = [service.Problem("", f"cannot read the file: {exc.strerror}")]
        if not problems:
            template = service.parse(text)
            print(f"{path}: ok ({template.key} {template.version}: {len(template.areas)} focus areas, "
                  f"{sum(len(a.controls) for a in template.areas)} controls, {len(template.questions())} questions)")
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

    rows = asyncio.run(_with_db(settings, service.list_versions))
    if not rows:
        print("no templates loaded yet: run `partner-audit templates load`")
    for row in rows:
        questions = len(service.template_of(row).questions())
        print(f"{row['id']}  {row['key']:<20} {row['version']:<10} {questions:>3} questions  "
              f"loaded {row['loaded_at']:%Y-%m-%d %H:%M}  {row['title']}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="partner-audit", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the web service")
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
    a_sub.add_parser("verify", help="check the hash chain; names the first broken entry").set_defaults(
        func=cmd_access_log_verify)

    t = sub.add_parser("templates", help="the control library: questionnaire templates in audit_templates/")
    t_sub = t.add_subparsers(dest="templates_command", required=True)
    tc = t_sub.add_parser("check", help="report every problem in template files, with its place in the file")
    tc.add_argument("files", nargs="+", metavar="FILE", type=Path)
    tc.set_defaults(func=cmd_templates_check)
    tl = t_sub.add_parser("load", help="load new template versions (unchanged content is skipped)")
    tl.add_argument("files", nargs="*", metavar="FILE", type=Path, help="default: every *.yaml in audit_templates/")
    tl.set_defaults(func=cmd_templates_load)
    t_sub.add_parser("list", help="loaded template versions, newest first").set_defaults(func=cmd_templates_list)
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
