"""Reading the mail an app sent, as a person would: from the folder of .eml files that the
embedded default's FileGateway writes (the test apps keep it in their instance folder), or
from a real SMTP server started for the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.processes import free_port

LINK = re.compile(r"https?://\S+/dashboard/reset/\S+")


@contextmanager
def delivered(app) -> Iterator[list[EmailMessage]]:
    """The messages the app's mail folder received inside the block, oldest first; filled in
    when the block ends. The folder is shared by every test of a session: only new files count."""
    folder = app.extensions["cpu"].mail.folder
    before = set(folder.glob("*.eml"))
    messages: list[EmailMessage] = []
    yield messages
    messages.extend(parse(path.read_bytes()) for path in sorted(set(folder.glob("*.eml")) - before))


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def reset_link(message: EmailMessage) -> str:
    """The password reset link in a message's text."""
    return LINK.search(message.get_content()).group(0)


@dataclass
class Received:
    """What a test SMTP server was handed: the envelope's recipients, the parsed message, and
    whether the client had logged in with the right password first."""

    recipients: list[str]
    message: EmailMessage
    logged_in: bool


@dataclass
class SmtpServer:
    port: int
    received: list[Received] = field(default_factory=list)


@contextmanager
def smtp_server(*, username: str | None = None, password: str | None = None) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the block. With a username it accepts a
    login with that password only (over plain text: these tests have no certificate), and
    notes on each message whether the client had logged in."""
    server = SmtpServer(port=free_port())

    class Handler:
        async def handle_DATA(self, _server, session, envelope):
            server.received.append(Received(list(envelope.rcpt_tos), parse(envelope.original_content),
                                            logged_in=bool(session.authenticated)))
            return "250 OK"

    def authenticator(_server, _session, _envelope, _mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == (username, password), handled=False)  # False: answer 535

    options = {"auth_require_tls": False, "authenticator": authenticator} if username else {}
    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()

