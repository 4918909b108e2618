"""One address cannot lock an operator out: a username's failures are counted per address, with a
much higher count for the username across all addresses; and every per-address limit counts an IPv6
address as its /64 network (rotating addresses within it is no way round a limit)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from limits import parse
from starlette.requests import Request

from neigou.auth.throttle import ALL_ADDRESSES_FACTOR, SignInThrottle
from neigou.web.pages import address_bucket, client_ip
from tests.local_redis import REDIS_URL, local_redis


@pytest.fixture(params=["memory", "redis"])
def storage_uri(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        local_redis().close()
        return REDIS_URL
    return "memory://"


def _throttle(storage_uri: str, *, per_username: str, all_ips: str | None = None) -> SignInThrottle:
    return SignInThrottle(
        per_username=parse(per_username),
        per_ip=parse("100 per 15 minutes"),
        per_username_all_ips=None if all_ips is None else parse(all_ips),
        storage_uri=storage_uri,
        namespace=f"test-lockout-{uuid4().hex}",
    )


def test_failures_from_one_address_do_not_lock_the_username_out_elsewhere(storage_uri: str) -> None:
    throttle = _throttle(storage_uri, per_username="3 per 15 minutes")
    for _ in range(3):
        assert throttle.reserve(ip="203.0.113.9", username="admin")
    assert not throttle.reserve(ip="203.0.113.9", username="ADMIN")  # the guesser's address is stopped
    assert throttle.reserve(ip="198.51.100.7", username="admin")  # the operator, elsewhere, is not


def test_a_username_has_a_cap_across_all_addresses(storage_uri: str) -> None:
    throttle = _throttle(storage_uri, per_username="2 per 15 minutes", all_ips="5 per 15 minutes")
    for n in range(5):
        assert throttle.reserve(ip=f"203.0.113.{n}", username="admin")
    assert not throttle.reserve(ip="198.51.100.7", username="admin")
    assert throttle.retry_after(ip="198.51.100.7", username="admin") >= 1
    assert throttle.reserve(ip="198.51.100.7", username="someone")  # other usernames unaffected


def test_the_cap_across_addresses_is_ten_times_the_one_per_address() -> None:
    defaults = SignInThrottle()
    assert defaults.per_username_all_ips is not None
    assert defaults.per_username_all_ips.amount == ALL_ADDRESSES_FACTOR * defaults.per_username.amount == 100
    assert defaults.per_username_all_ips.get_expiry() == defaults.per_username.get_expiry()


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_address_counts_as_its_64(host: str, bucket: str) -> None:
    assert address_bucket(host) == bucket


def test_every_per_address_limit_reads_the_bucket() -> None:
    def ip_of(host: str) -> str:
        return client_ip(Request({"type": "http", "client": (host, 5000), "headers": []}))

    assert ip_of("2001:db8::1") == ip_of("2001:db8::ffff:1") == "2001:db8::/64"
    assert ip_of("2001:db8:0:1::1") != ip_of("2001:db8::1")
    assert client_ip(Request({"type": "http", "headers": []})) == "unknown"
