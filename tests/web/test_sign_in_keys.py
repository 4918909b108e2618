"""The sign-in throttle's counters are bounded whatever is typed: a username's key is the digest of its
caseless form, a username longer than any account's is counted against its IP alone (and refused
unchecked, never echoed back), and an IP that has used up its attempts creates no username window."""

from __future__ import annotations

from typing import cast
from uuid import uuid4

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse
from limits.storage import MemoryStorage, RedisStorage

from neigou.auth.models import MAX_USERNAME_LENGTH
from neigou.auth.throttle import SignInThrottle
from tests.local_redis import REDIS_URL, local_redis

LONG = "x" * 60_000


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest) -> SignInThrottle:
    """Small limits, in memory and on the local Redis."""
    uri = "memory://"
    if request.param == "redis":
        local_redis().close()
        uri = REDIS_URL
    return SignInThrottle(
        per_username=parse("5 per 15 minutes"),
        per_ip=parse("3 per 15 minutes"),
        storage_uri=uri,
        namespace=f"test-keys-{uuid4().hex}",
    )


def _keys(throttle: SignInThrottle) -> list[str]:
    storage = throttle._storage  # what the counters left behind
    if isinstance(storage, MemoryStorage):
        return [key for key, events in storage.events.items() if events and throttle.namespace in key]
    assert isinstance(storage, RedisStorage)
    client = cast("redis.Redis", storage.get_connection())  # limits types it as a protocol
    return [key.decode() for key in client.scan_iter(f"*{throttle.namespace}*")]


def test_an_exhausted_address_counts_no_new_usernames(throttle: SignInThrottle) -> None:
    for name in ("a", "b", "c"):
        assert throttle.reserve(ip="10.0.0.1", username=name)
    before = sorted(_keys(throttle))
    for n in range(20):  # a guesser cycling names from the exhausted address
        assert not throttle.reserve(ip="10.0.0.1", username=f"guess{n}")
    assert sorted(_keys(throttle)) == before
    assert len(before) == 7  # the address, and its three names from it and across addresses


def test_a_username_longer_than_any_account_counts_against_the_address_only(
    throttle: SignInThrottle,
) -> None:
    assert throttle.reserve(ip="10.0.0.2", username=LONG)
    assert throttle.reserve(ip="10.0.0.2", username="y" * (MAX_USERNAME_LENGTH + 1))
    keys = _keys(throttle)
    assert len(keys) == 1, keys  # the address's window only
    assert throttle.reserve(ip="10.0.0.2", username="ops")
    assert not throttle.reserve(ip="10.0.0.2", username=LONG)  # the address's three are spent
    assert throttle.retry_after(ip="10.0.0.2", username=LONG) >= 1
    assert all(len(key) < 200 for key in _keys(throttle)), _keys(throttle)


def test_a_long_username_key_is_a_digest(throttle: SignInThrottle) -> None:
    name = "Ａ" * MAX_USERNAME_LENGTH  # the longest a username may be, full-width
    assert throttle.reserve(ip="10.0.0.3", username=name)
    assert len(_keys(throttle)) == 3  # the address's, the name's from it and across addresses
    assert not any("a" * 16 in key for key in _keys(throttle)), _keys(throttle)
    # the same account's counter, cleared (and the attempt given back to the address)
    throttle.succeeded(ip="10.0.0.3", username=name.lower())
    assert _keys(throttle) == []


def test_the_console_refuses_a_long_username_unchecked_and_unechoed(client: TestClient) -> None:
    refused = client.post("/console/login", data={"username": LONG, "password": "guess"})
    assert refused.status_code == 401
    assert LONG[:100] not in refused.text
