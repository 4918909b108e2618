"""Outbound calls go to public Internet addresses only (``kit.addresses``): every address family that
reaches this host, its network or the cloud's metadata service is refused, in every IPv6 form that
carries such an IPv4 address; a URL's host that spells one out (or is ``localhost``) is told without a
lookup."""

from __future__ import annotations

import ipaddress

import pytest

from neigou.kit.addresses import literal_address, private_host, public_address, public_text

pytestmark = pytest.mark.no_database

REFUSED = {
    "loopback": "127.0.0.1",
    "loopback, elsewhere in 127/8": "127.255.0.9",
    "private 10/8": "10.0.0.5",
    "private 172.16/12": "172.31.255.254",
    "private 192.168/16": "192.168.1.1",
    "link-local": "169.254.0.1",
    "cloud metadata": "169.254.169.254",
    "CGNAT 100.64/10": "100.64.0.1",
    "CGNAT, its top": "100.127.255.254",
    "multicast": "224.0.1.1",
    "multicast, organisation-local": "239.1.1.1",
    "unspecified": "0.0.0.0",  # noqa: S104 - an address judged, nothing bound
    "this network 0/8": "0.1.2.3",
    "reserved 240/4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "IETF protocol 192.0.0/24": "192.0.0.1",
    "benchmarking 198.18/15": "198.18.0.1",
    "documentation": "203.0.113.7",
    "IPv6 loopback": "::1",
    "IPv6 unspecified": "::",
    "IPv6 link-local": "fe80::1",
    "IPv6 link-local with its scope": "fe80::1%1",
    "IPv6 unique local": "fd00::1",
    "IPv6 site-local (deprecated)": "fec0::1",
    "IPv6 multicast": "ff0e::1",
    "IPv6 documentation": "2001:db8::1",
    "Teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped metadata": "::ffff:169.254.169.254",
    "IPv4-mapped private": "::ffff:10.0.0.5",
    "IPv4-mapped CGNAT": "::ffff:100.64.0.1",
    "IPv4-compatible loopback": "::127.0.0.1",
    "IPv4-compatible, even of a public address": "::8.8.8.8",
    "NAT64 of loopback": "64:ff9b::7f00:1",
    "NAT64 of metadata": "64:ff9b::a9fe:a9fe",
    "NAT64 of private": "64:ff9b::a00:5",
    "local-use NAT64": "64:ff9b:1::808:808",
    "6to4 of loopback": "2002:7f00:1::1",
    "6to4 of private": "2002:c0a8:101::1",
    "6to4 of metadata": "2002:a9fe:a9fe::",
    "discard-only": "100::1",
}
PUBLIC = {
    "IPv4": "8.8.8.8",
    "IPv4, beside CGNAT": "100.128.0.1",
    "IPv4, beside 172.16/12": "172.32.0.1",
    "IPv6": "2606:4700:4700::1111",
    "IPv4-mapped public": "::ffff:8.8.8.8",
    "NAT64 of public": "64:ff9b::808:808",
    "6to4 of public": "2002:808:808::1",
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_an_address_that_is_not_public_is_refused(text: str) -> None:
    assert not public_text(text)


@pytest.mark.parametrize("text", PUBLIC.values(), ids=PUBLIC.keys())
def test_a_public_address_passes(text: str) -> None:
    assert public_text(text)
    assert public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", ["", "example.com", "127.0.0.1.example", "::ffff::1::", "1.2.3.4.5"])
def test_what_is_no_address_is_never_public(text: str) -> None:
    assert not public_text(text)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ],
)
def test_every_spelling_the_resolver_reads_as_a_number_is_an_address(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)
    assert private_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "10.0.0.5",
        "169.254.169.254",
        "::1",
        "100.64.0.1",
    ],
)
def test_a_host_that_names_a_private_address_by_itself_is_told_without_a_lookup(host: str) -> None:
    assert private_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "qyapi.weixin.qq.com",
        "crm.brand.example",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "localhost.example.com",
        "例子.测试",
    ],
)
def test_a_public_address_or_a_name_is_not_refused_before_it_is_resolved(host: str) -> None:
    assert not private_host(host)
