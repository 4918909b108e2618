"""A burst of concurrent console sign-ins cannot get past the attempt limit: each attempt is reserved
before its slow password check, so at most the remaining number are checked. A success gives its
attempt back to the address (an office behind one address is not locked out by its own sign-ins);
failures keep counting."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.throttle import SignInThrottle
from tests.local_redis import REDIS_URL, local_redis
from tests.sign_in import PASSWORD, create_operator

BURST = 6


def _burst(client: TestClient, username: str, password: str) -> list[int]:
    def attempt(_: int) -> int:
        return client.post("/console/login", data={"username": username, "password": password}).status_code

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(attempt, range(BURST)))


def test_a_burst_after_nearly_all_failures_checks_only_the_remaining_attempts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    throttle = SignInThrottle(per_username=parse("3 per 15 minutes"), per_ip=parse("100 per 15 minutes"))
    client.app.state.sign_in_throttle = throttle  # type: ignore[attr-defined]
    create_operator(factory)
    for _ in range(2):  # two of the username's three attempts are used up
        assert client.post("/console/login", data={"username": "ops", "password": "guess"}).status_code == 401
    statuses = _burst(client, "OPS ", "guess")
    assert sorted(statuses) == [401] + [429] * (BURST - 1)  # one checked, the others refused unchecked
    # The right password is refused as well now: the username has no attempt left.
    assert client.post("/console/login", data={"username": "ops", "password": PASSWORD}).status_code == 429


def test_a_burst_from_one_address_checks_only_its_remaining_attempts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    throttle = SignInThrottle(per_username=parse("100 per 15 minutes"), per_ip=parse("2 per 15 minutes"))
    client.app.state.sign_in_throttle = throttle  # type: ignore[attr-defined]
    create_operator(factory)
    assert client.post("/console/login", data={"username": "x1", "password": "guess"}).status_code == 401
    statuses = _burst(client, "ops", "guess")
    assert sorted(statuses) == [401] + [429] * (BURST - 1)


@pytest.fixture(params=["memory", "redis"])
def storage_uri(request: pytest.FixtureRequest) -> str:
    """The counters in memory, and on the local Redis as several web processes share them."""
    if request.param == "redis":
        local_redis().close()
        return REDIS_URL
    return "memory://"


def _throttle(storage_uri: str, *, per_username: str, per_ip: str) -> SignInThrottle:
    return SignInThrottle(
        per_username=parse(per_username),
        per_ip=parse(per_ip),
        storage_uri=storage_uri,
        namespace=f"test-sign-in-{uuid4().hex}",
    )


def test_a_success_clears_the_username_and_gives_its_attempt_back_to_the_address(storage_uri: str) -> None:
    throttle = _throttle(storage_uri, per_username="2 per 15 minutes", per_ip="3 per 15 minutes")
    assert throttle.reserve(ip="1.2.3.4", username="ops")
    assert throttle.reserve(ip="1.2.3.4", username=" OPS")
    assert not throttle.reserve(ip="1.2.3.4", username="ops")  # refused: the address is not charged
    throttle.succeeded(ip="1.2.3.4", username="ops")
    assert throttle.reserve(ip="1.2.3.4", username="ops")  # the username's count was cleared ...
    assert throttle.reserve(ip="1.2.3.4", username="other")  # ... the success's attempt given back ...
    assert not throttle.reserve(ip="1.2.3.4", username="third")  # ... but the two failures still count
    assert throttle.retry_after(ip="1.2.3.4", username="third") >= 1


def test_an_office_behind_one_address_is_not_locked_out_by_its_successes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    client.app.state.sign_in_throttle = SignInThrottle(  # type: ignore[attr-defined]
        per_username=parse("100 per 15 minutes"), per_ip=parse("3 per 15 minutes")
    )
    for n in range(5):
        create_operator(factory, f"clerk{n}")
        signed_in = client.post(
            "/console/login", data={"username": f"clerk{n}", "password": PASSWORD}, follow_redirects=False
        )
        assert signed_in.status_code == 303
    for _ in range(3):  # the address's failures still count: three, then refused unchecked
        assert client.post("/console/login", data={"username": "x", "password": "guess"}).status_code == 401
    assert client.post("/console/login", data={"username": "clerk0", "password": PASSWORD}).status_code == 429


def test_concurrent_successes_give_back_exactly_their_own_attempts(storage_uri: str) -> None:
    throttle = _throttle(storage_uri, per_username="100 per 15 minutes", per_ip="16 per 15 minutes")

    def sign_in(n: int) -> bool:  # every other one succeeds
        reserved = throttle.reserve(ip="1.2.3.4", username=f"u{n}")
        if reserved and n % 2 == 0:
            throttle.succeeded(ip="1.2.3.4", username=f"u{n}")
        return reserved

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(sign_in, range(16)))
    # Eight successes gave back eight attempts: the eight failures count, eight more pass, then none.
    with ThreadPoolExecutor(16) as pool:
        guesses = list(pool.map(lambda n: throttle.reserve(ip="1.2.3.4", username=f"g{n}"), range(16)))
    assert guesses.count(True) == 8
