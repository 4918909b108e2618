"""A burst of concurrent console sign-ins cannot get past the attempt limit: each attempt is reserved
before its slow password check, so at most the remaining number are checked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.throttle import SignInThrottle
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


def test_a_success_clears_the_username_but_counts_against_the_address() -> None:
    throttle = SignInThrottle(per_username=parse("2 per 15 minutes"), per_ip=parse("3 per 15 minutes"))
    assert throttle.reserve(ip="1.2.3.4", username="ops")
    assert throttle.reserve(ip="1.2.3.4", username=" OPS")
    assert not throttle.reserve(ip="1.2.3.4", username="ops")  # refused: the address is not charged
    throttle.succeeded(ip="1.2.3.4", username="ops")
    assert throttle.reserve(ip="1.2.3.4", username="ops")  # the username's count was cleared ...
    assert not throttle.reserve(ip="1.2.3.4", username="other")  # ... the address's was not
    assert throttle.retry_after(ip="1.2.3.4", username="other") >= 1
