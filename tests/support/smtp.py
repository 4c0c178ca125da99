"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping every message it accepts.

``smtp_server`` (plain SMTP) is the fixture most tests use; ``SmtpServer`` also starts with STARTTLS or TLS from
the first byte, a certificate from a throwaway CA (trustme), and a required login, for the TLS tests.
``smtp_server`` is loaded with the other support fixtures; no import needed.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from partner_audit.settings import Settings
from tests.support.databases import Database, make_settings

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


@dataclass(frozen=True)
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content().replace("\r\n", "\n")  # SMTP carries lines ending CRLF


class _Inbox:
    def __init__(self, delay: float) -> None:
        self.messages: list[Received] = []
        self.delay = delay
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            time.sleep(self.delay)  # a slow server widens the window in which concurrent senders overlap
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(Received(list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int | None = None, *, delay: float = 0.0, tls: str = "none",
                 context: ssl.SSLContext | None = None, login: tuple[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.tls = tls
        self.inbox = _Inbox(delay)
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        elif tls == "tls":
            # aiosmtpd only counts STARTTLS as TLS when deciding to offer AUTH; this connection is TLS throughout.
            kwargs.update(ssl_context=context, auth_require_tls=False)
        if login:
            kwargs.update(authenticator=self._authenticator(login), auth_required=True)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticator(self, login: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        return check

    @property
    def messages(self) -> list[Received]:
        return list(self.inbox.messages)

    def env(self) -> dict[str, str]:
        """The settings that point the service at this server."""
        return {"PA_SMTP_HOST": "127.0.0.1", "PA_SMTP_PORT": str(self.port), "PA_SMTP_TLS": self.tls}

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def mail_settings(database: Database, tmp_path: Path, server_env: dict[str, str], **extra: str) -> Settings:
    """Settings for an app of a test's own that sends its mail to the server of ``server_env``."""
    return make_settings(database, tmp_path, PA_MAIL_FROM="devices@agency.example", **server_env, **extra)
