"""Where mail goes, chosen by CPU_MAIL_URL: an SMTP server in production, a folder of .eml
files in the embedded default (open them with any mail client). Both take a `Message` and
either hand it on or raise `MailNotSent`, whose text never holds the message's body or the
server's password, so a caller may log it as it is."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
import uuid
from email.policy import SMTP
from pathlib import Path
from typing import Protocol

from marketplace.mail import mail_url
from marketplace.mail.message import Message
from marketplace.regions.base import utcnow

log = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The gateway could not hand the message on; the text says why, without secrets."""


class MailGateway(Protocol):
    def send(self, message: Message) -> None:
        """Hand the message on, or raise MailNotSent."""


class FileGateway:
    """Each message as one .eml file in `folder`, for whoever runs the embedded default."""

    def __init__(self, folder: Path, *, sender: str):
        self.folder, self.sender = folder, sender

    def send(self, message: Message) -> None:
        name = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.eml"  # sorted by time in any listing
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so a reader never opens half a message.
            with tempfile.NamedTemporaryFile("wb", dir=self.folder, suffix=".part", delete=False) as part:
                part.write(message.as_email(sender=self.sender).as_bytes(policy=SMTP))
            os.replace(part.name, self.folder / name)
        except OSError as exc:
            raise MailNotSent(f"could not write to {self.folder}: {exc.strerror}") from None
        log.info("mail written to %s", self.folder / name)


class SmtpGateway:
    """One connection per message: mail here is rare (password resets), and a pooled
    connection would only go stale between them. Never with smtplib's debug output, which
    prints the AUTH exchange and so the password."""

    def __init__(self, server: mail_url.SmtpServer, *, sender: str, timeout: float):
        self.server, self.sender, self.timeout = server, sender, timeout

    def send(self, message: Message) -> None:
        email = message.as_email(sender=self.sender)
        try:
            with self._connect() as smtp:
                if self.server.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.server.username:
                    smtp.login(self.server.username, self.server.password or "")
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:  # UnicodeError: smtplib logs in in ASCII only
            # Not str(exc): a refusal repeats the addresses, a certificate error its details.
            code = getattr(exc, "smtp_code", None)
            raise MailNotSent(f"{self.server} refused or failed: {type(exc).__name__}{f' {code}' if code else ''}") from None

    def _connect(self) -> smtplib.SMTP:
        host, port = self.server.host, self.server.port
        if self.server.tls == "ssl":
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(host, port, timeout=self.timeout)


def gateway_for(settings) -> MailGateway:
    """The SMTP server or the folder that CPU_MAIL_URL names (config.py has validated it)."""
    target = mail_url.parse(settings.mail_url)
    if isinstance(target, Path):
        return FileGateway(target, sender=settings.mail_from)
    return SmtpGateway(target, sender=settings.mail_from, timeout=settings.mail_timeout)
