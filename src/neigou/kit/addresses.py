"""Which addresses an outbound call (a webhook, a robot, an alert) may go to: public Internet addresses
only, so that a URL a tenant configures cannot make the server call this host, its network or the
cloud's metadata service (SSRF) and read the outcome back from a delivery log.

``public_address`` judges one address as a connection would reach it. ``ipaddress``' ``is_global``
alone is not enough: it calls multicast and site-local IPv6 global, and an IPv6 address may carry an
IPv4 one to the host it names (IPv4-mapped ``::ffff:127.0.0.1``, NAT64 ``64:ff9b::a00:1``, 6to4
``2002:7f00:1::``), which is judged instead. The deprecated IPv4-compatible form (``::a.b.c.d``, with
``::`` and ``::1``) reaches no public host and is always refused.

``private_host`` tells, with no lookup, whether a URL's host names such an address by itself: ``localhost``
(and the names under it) or an IP literal in any spelling the resolver reads (``127.1``, ``0x7f000001``,
``2130706433``, ``017700000001``). A name that resolves to a private address is caught when the call
connects (``kit.bounded_http``), on the very addresses it connects to.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible (RFC 4291), :: and ::1 among them
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


def _carried(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches (mapped, NAT64's well-known prefix, 6to4); None if none."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.sixtofour


def public_address(address: Address) -> bool:
    """Whether ``address`` is a public unicast Internet address: not loopback, private, link-local,
    shared (CGNAT ``100.64/10``), multicast, unspecified, reserved or documentation, nor an IPv6 form of
    such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _COMPATIBLE:
            return False
        carried = _carried(address)
        if carried is not None:
            return public_address(carried)
        if address.is_site_local:
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def public_text(text: str) -> bool:
    """Whether ``text``, an address as the resolver gives it (IPv6 with its ``%scope`` perhaps), is a
    public address; False for anything that does not read as one."""
    try:
        return public_address(ipaddress.ip_address(text))
    except ValueError:
        return False


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells out, in any form the resolver reads as a number (``[::1]``,
    ``127.1``, ``0x7f000001``); None for a name."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # the resolver's own reading, no lookup
    except (OSError, ValueError):
        return None


def private_host(host: str) -> bool:
    """Whether a URL's ``host`` names a non-public address without any lookup: ``localhost`` or a name
    under it (RFC 6761), or an IP literal that is not a public address."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = literal_address(name)
    return address is not None and not public_address(address)
