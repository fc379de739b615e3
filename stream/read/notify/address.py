"""Where a webhook may go: https only, to public addresses (http only to this machine,
when a setting allows it, for tests and the demo), checked when a subscription
is made and again at every delivery, on the address actually connected to.

A name that resolved to a public address when the subscription was made may resolve to
an internal one later (DNS rebinding). So the HTTP client resolves through
:class:`PinnedResolver`, which drops every address that is not allowed: the client
connects only to the addresses checked, in that same request, and a name with none left
is refused. Redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

LONGEST_URL = 2048


class AddressRefused(OSError):
    """Every address a receiver's name resolved to is internal: nothing was sent."""


def allowed(address: str, loopback_ok: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global or (loopback_ok and ip.is_loopback)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def url_problem(url: str, loopback_ok: bool) -> str | None:
    """Why a subscription may not have this URL, or None. ``loopback_ok``: the setting
    that lets http reach this machine (tests and the demo)."""
    if len(url) > LONGEST_URL:
        return f"a URL longer than {LONGEST_URL} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    host = parts.hostname or ""
    if not host or parts.scheme not in ("https", "http"):
        return "not an https URL"
    if parts.username is not None or parts.password is not None:
        return "a URL with credentials in it (they would be logged)"
    if port == 0:
        return "port 0"
    literal = _literal(host)
    loopback = host == "localhost" or (
        literal is not None and ipaddress.ip_address(literal).is_loopback
    )
    if parts.scheme == "http" and not (loopback and loopback_ok):
        return "not an https URL (http only to this machine, when allowed)"
    if literal is not None and not allowed(literal, loopback_ok and parts.scheme == "http"):
        return f"{literal} is not a public address"
    return None


class PinnedResolver(AbstractResolver):
    """The system's resolver, keeping only the addresses a webhook may connect to."""

    def __init__(self, loopback_ok: bool) -> None:
        self.loopback_ok = loopback_ok
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        kept = [r for r in found if allowed(r["host"], self.loopback_ok)]
        if not kept:
            shown = ", ".join(sorted({r["host"] for r in found}))
            raise AddressRefused(f"{host} resolves to no public address ({shown})")
        return kept

    async def close(self) -> None:
        await self._resolver.close()


def refusal_in(exc: BaseException) -> str | None:
    """The refusal behind an HTTP client's connection error, if that is what it was."""
    seen: Any = exc
    while seen is not None:
        if isinstance(seen, AddressRefused):
            return str(seen)
        seen = getattr(seen, "os_error", None) or seen.__cause__
    return None
