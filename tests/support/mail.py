"""Reading the mail an app sent, as a person would: from the folder of .eml files that the
embedded default's FileGateway writes (the test apps keep it in their instance folder)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

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
