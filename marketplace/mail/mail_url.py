"""CPU_MAIL_URL, read: `file:///folder` for the embedded default's folder of .eml files, or
`smtp://user:password@host:587?starttls=1` / `smtps://user:password@host:465` for a mail
server. Errors name what is wrong without repeating the URL: it may hold the password."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: str  # "ssl" (smtps://), "starttls" (?starttls=1) or "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:  # what errors and logs may say about the server
        return f"{self.host}:{self.port}"


def parse(url: str) -> Path | SmtpServer:
    """The folder or the SMTP server a CPU_MAIL_URL names; ValueError says why it names neither."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return _folder(parts)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("must start with smtp://, smtps:// or file://")
    if not parts.hostname:
        raise ValueError("names no mail server host")
    query = parse_qs(parts.query)
    if set(query) - {"starttls"}:
        raise ValueError(f"unknown option {sorted(set(query) - {'starttls'})[0]!r} (only starttls)")
    starttls = query.get("starttls", ["0"])[-1].lower()
    if starttls not in TRUE + FALSE:
        raise ValueError("starttls must be 1 or 0")
    if parts.scheme == "smtps" and starttls in TRUE:
        raise ValueError("smtps:// is TLS from the start: drop ?starttls=1")
    tls = "ssl" if parts.scheme == "smtps" else "starttls" if starttls in TRUE else "none"
    try:
        port = parts.port or DEFAULT_PORTS[tls]
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    return SmtpServer(host=parts.hostname, port=port, tls=tls,
                      username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password is not None else None)


def _folder(parts) -> Path:
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ValueError("a folder is written file:///absolute/path")
    return Path(unquote(parts.path))
