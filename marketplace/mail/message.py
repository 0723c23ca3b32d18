"""The one value every gateway sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from marketplace.regions.base import utcnow


@dataclass(frozen=True)
class Message:
    """A plain-text mail to one person, with an HTML alternative where its template has one.
    The bodies are left out of repr: they may carry a link that signs its reader in, and a
    repr is one careless log line away."""

    to: str
    subject: str
    body: str = field(repr=False)
    html: str | None = field(default=None, repr=False)

    def as_email(self, *, sender: str) -> EmailMessage:
        email = EmailMessage()
        email["From"] = sender
        email["To"] = self.to
        email["Subject"] = self.subject
        email["Date"] = format_datetime(utcnow())
        email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
        email.set_content(self.body, cte="8bit")  # a link stays whole in the file, never folded
        if self.html is not None:
            email.add_alternative(self.html, subtype="html", cte="8bit")
        return email
