"""Where a webhook may point: checked when an endpoint is created and again before each
delivery, against the addresses its host resolves to then (which are the ones called)."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Collection
from urllib.parse import SplitResult, urlsplit

__all__ = ["DestinationRefused", "check_destination"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# IPv6 ranges whose last 32 bits are an IPv4 address that a translator or the host's own
# stack may end up calling: NAT64's well-known prefix, IPv4-translated (SIIT) and the
# deprecated IPv4-compatible form. (IPv4-mapped, 6to4 and Teredo have ipaddress properties.)
_LOW_32_IS_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("::/96"),
)
# NAT64 for a local network's own use (RFC 8215): the IPv4 address may sit at several
# places, and whatever it is, it is a translator inside someone's network.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


class DestinationRefused(Exception):
    """A webhook URL Meterr will not call."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    found.extend(address.teredo or ())
    if any(address in network for network in _LOW_32_IS_IPV4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_public(address.ipv4_mapped)
        if address in _LOCAL_NAT64:
            return False
        if not all(_is_public(v4) for v4 in _embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


def _split(url: str) -> SplitResult:
    # urlsplit drops tabs and line breaks silently and keeps a NUL, which the resolver then
    # chokes on: neither belongs in a URL Meterr will call.
    if _CONTROL.search(url):
        raise DestinationRefused("the URL contains a control character")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise DestinationRefused(f"the URL is malformed: {exc}") from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise DestinationRefused("only http and https URLs are allowed")
    return parts


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise DestinationRefused("the port is not a number from 1 to 65535") from None
    if port is None:
        return _DEFAULT_PORTS[parts.scheme]
    if port == 0:
        raise DestinationRefused("the port is not a number from 1 to 65535")
    return port


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_name(host: str) -> None:
    """A DNS name as resolvers take it: ASCII labels of 1 to 63 letters, digits, hyphens
    (not at either end) and underscores (which private names use), 253 characters at most."""
    if not host.isascii():
        raise DestinationRefused(f"write the host {host} in ASCII (its punycode form)")
    name = host.removesuffix(".")
    if len(name) > 253:
        raise DestinationRefused("the host name is longer than 253 characters")
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            raise DestinationRefused(
                f"the host name {host} has an empty, overlong or malformed label"
            )


def _refuse_unless_public(address: Address, named: str) -> None:
    if not _is_public(address):
        raise DestinationRefused(
            f"{named} is a private, loopback, link-local or otherwise non-public address"
        )


async def check_destination(
    url: str, *, allow_private: bool, allowed_ports: Collection[int]
) -> list[str]:
    """The addresses `url`'s host resolves to, all of which may be called; raises
    DestinationRefused for a malformed URL, another scheme, a malformed host, a port not in
    `allowed_ports`, or a non-public address. `allow_private` lifts the last two limits:
    it is for receivers inside the operator's own network, which often listen elsewhere
    than on 80 and 443."""
    parts = _split(url)
    host = parts.hostname
    if not host:
        raise DestinationRefused("the URL has no host")
    port = _port(parts)
    literal = _literal(host)
    if literal is None:
        _check_name(host)
    elif not allow_private:
        _refuse_unless_public(literal, host)
    if not allow_private and port not in allowed_ports:
        listed = ", ".join(str(allowed) for allowed in sorted(allowed_ports))
        raise DestinationRefused(f"port {port} is not one webhooks may use ({listed})")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DestinationRefused(f"the host {host} does not resolve: {exc.strerror}") from None
    addresses = sorted({str(info[4][0]) for info in found})
    if not allow_private:
        for address in addresses:
            named = address if address == host else f"{host} resolves to {address}, which"
            _refuse_unless_public(ipaddress.ip_address(address), named)
    return addresses
