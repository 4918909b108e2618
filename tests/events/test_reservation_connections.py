"""A reservation request holds at most one connection at a time (CONVENTIONS, "No session held across a
wait"; ``Settings.pool_size`` counts one per admitted request): the event book and the link cache read a
cold entry through the request's own session, not a second one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from neigou.events import reservations
from tests.conftest import TokenMaker, bearer
from tests.events.builders import one_employee_event, reserve


@pytest.fixture
def checkouts(engine: Engine) -> Iterator[list[int]]:
    """The connections checked out at each checkout of the pool, while the test runs."""
    seen: list[int] = []
    pool = engine.pool
    assert isinstance(pool, QueuePool)

    def counted(*_args: Any) -> None:
        seen.append(pool.checkedout())

    event.listen(engine.pool, "checkout", counted)
    yield seen
    event.remove(engine.pool, "checkout", counted)


def test_a_scoped_reservation_reads_its_event_without_a_second_connection(
    client: TestClient,
    operator: dict[str, str],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    make_token: TokenMaker,
) -> None:
    event_id = one_employee_event(client, operator)
    seen: list[int] = []
    load = reservations.load_snapshot
    pool = engine.pool
    assert isinstance(pool, QueuePool)

    def counting(session: Session, wanted: int) -> Any:
        snapshot = load(session, wanted)  # its connection is checked out now
        seen.append(pool.checkedout())
        return snapshot

    monkeypatch.setattr(reservations, "load_snapshot", counting)
    client.app.state.events.book._entries.clear()  # type: ignore[attr-defined]  # a cold cache
    shop = bearer(make_token("integration", organization_id=1))  # a shop's token: its organization's scope
    answer = reserve(client, shop, event_id, "13800000001")
    assert answer.status_code == 201, answer.text
    assert seen == [1], seen  # the request's own connection, not a second beside it


def test_a_cold_link_code_is_read_on_the_requests_connection(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, checkouts: list[int]
) -> None:
    event_id = one_employee_event(client, operator)
    client.app.state.events.book._entries.clear()  # type: ignore[attr-defined]
    shop = bearer(make_token("integration", organization_id=1))
    checkouts.clear()
    answer = reserve(client, shop, event_id, "13800000001", link_code="no-such-code")
    assert (answer.status_code, answer.json()["code"]) == (422, "unknown_link"), answer.text
    assert checkouts, "nothing was read"
    assert max(checkouts) == 1, checkouts
