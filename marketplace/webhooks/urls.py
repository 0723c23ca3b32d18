"""Which URLs a webhook may be sent to. The relay makes the request from inside our network,
so a merchant's URL must never reach what only that network can: refused are any scheme but
https (in production), credentials in the URL, and hosts that resolve to a loopback, private
(10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata
address, fe80::/10), shared (100.64/10), multicast, reserved or unspecified address. The
embedded default and the tests may also use http:// and https:// to loopback (a receiver on
this machine), and nothing else private. The check runs when the endpoint is registered and
again before each delivery (a name may resolve elsewhere later); redirects are not followed."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})


def refusal(url: str, *, allow_loopback: bool, resolver: Resolver = resolve) -> str | None:
    """Why `url` may not receive webhooks, or None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "is not a URL with a valid port"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if parts.fragment:
        return "must not have a #fragment"
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(parts.hostname, port)]
    except (OSError, UnicodeError, ValueError):
        return f"names a host that does not resolve ({parts.hostname})"
    if not addresses:
        return f"names a host that does not resolve ({parts.hostname})"
    loopback = all(a.is_loopback for a in addresses)
    if allow_loopback and loopback:
        return None
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return f"resolves to {address}, a private or reserved address webhooks are not sent to"
    if parts.scheme != "https":
        return "must be an https:// URL"
    return None
