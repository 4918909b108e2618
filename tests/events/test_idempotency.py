"""A reservation retried under the same ``request_id`` (or ``Idempotency-Key``) takes nothing more and
answers what the first answered, on the database path and behind the Redis gate, also once the first
was stored and the gate's state seeded again from the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.models import CustomerCount, EventItem, Invitation, Reservation
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, add_employees, create_event, invite
from tests.factories import create_program


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def _event(api: TestClient, operator: dict[str, str]) -> int:
    program = create_program(api, operator)
    event_id = create_event(api, operator, program["id"])
    add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    return event_id


def _reserve(api: TestClient, operator: dict[str, str], event_id: int, **body: Any) -> Any:
    headers = {**operator, **body.pop("headers", {})}
    return api.post(f"/api/v1/events/{event_id}/reservations", json={"sku": SKU, **body}, headers=headers)


def _flush_and_forget(api: TestClient, event_id: int) -> None:
    """Store the gate's stream, then drop its state: the next reservation seeds it from the database."""
    app: Any = api.app
    runtime = app.state.events
    runtime.flush()
    if runtime.gate is not None:
        snapshot = runtime.book.get(event_id)
        runtime.gate.forget(runtime.gate.base(event_id, snapshot.created_at))


def _held(factory: sessionmaker[Session]) -> tuple[int | None, int | None, int | None, int]:
    with factory() as session:
        return (
            session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)),
            session.scalar(select(func.sum(Reservation.quantity))),
            session.scalar(select(func.sum(CustomerCount.reserved))),
            session.scalar(select(func.count()).select_from(Reservation)) or 0,
        )


def test_the_same_request_id_reserves_once_and_answers_the_same(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(api, operator)
    body = {"customer_ref": "13800000001", "employee_no": "E1", "request_id": "order-7"}
    first = _reserve(api, operator, event_id, **body)
    assert first.status_code == 201, first.text
    again = _reserve(api, operator, event_id, **body)
    assert (again.status_code, again.json()) == (201, first.json())
    by_header = _reserve(
        api,
        operator,
        event_id,
        customer_ref="+86 138 0000 0001",
        employee_no="E1",
        headers={"Idempotency-Key": "order-7"},
    )
    assert (by_header.status_code, by_header.json()) == (201, first.json())
    _flush_and_forget(api, event_id)
    assert _held(factory) == (1, 1, 1, 1)
    stored = _reserve(api, operator, event_id, **body)  # stored, and the gate seeded again
    assert (stored.status_code, stored.json()) == (201, first.json())
    other = _reserve(api, operator, event_id, **{**body, "request_id": "order-8"})
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"]
    _flush_and_forget(api, event_id)
    assert _held(factory) == (2, 2, 2, 2)


def test_a_request_id_names_one_reservation_only(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(api, operator)
    body = {"customer_ref": "13800000001", "employee_no": "E1", "request_id": "order-7"}
    assert _reserve(api, operator, event_id, **body).status_code == 201
    for changed in ({"customer_ref": "13800000002"}, {"quantity": 2}, {"sku": "EV-CUP"}):
        refused = _reserve(api, operator, event_id, **{**body, **changed})
        assert (refused.status_code, refused.json()["code"]) == (422, "request_id_reused"), changed
    mismatch = _reserve(api, operator, event_id, **body, headers={"Idempotency-Key": "order-9"})
    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "request_id_mismatch")
    _flush_and_forget(api, event_id)
    assert _held(factory) == (1, 1, 1, 1)


def test_a_retried_guest_reservation_binds_and_takes_once(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(api, operator)
    (code,) = invite(api, operator, event_id, "E1", 1)
    body = {"customer_ref": "13800000003", "invitation_code": code, "quantity": 2, "request_id": "g-1"}
    first = _reserve(api, operator, event_id, **body)
    assert first.status_code == 201, first.text
    assert _reserve(api, operator, event_id, **body).json() == first.json()
    _flush_and_forget(api, event_id)
    assert _held(factory) == (2, 2, 2, 1)
    with factory() as session:
        bound = session.scalars(select(Invitation.customer_ref_hash)).all()
    assert len(bound) == 1
    assert bound[0] is not None


def test_a_refused_reservation_leaves_its_request_id_free(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(api, operator)
    body = {"customer_ref": "13800000001", "employee_no": "E1", "request_id": "r-1", "quantity": 3}
    refused = _reserve(api, operator, event_id, **body)
    assert (refused.status_code, refused.json()["code"]) == (409, "limit_reached")
    taken = _reserve(api, operator, event_id, **{**body, "quantity": 2})
    assert taken.status_code == 201, taken.text
    _flush_and_forget(api, event_id)
    assert _held(factory) == (2, 2, 2, 1)


def test_a_retry_after_the_event_ended_answers_the_first(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(api, operator)
    now = utcnow()
    event_id = create_event(
        api,
        operator,
        program["id"],
        starts_at=(now - timedelta(hours=3)).isoformat(),
        ends_at=(now - timedelta(hours=1)).isoformat(),
    )
    add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    body = {"customer_ref": "13800000001", "employee_no": "E1", "request_id": "late-1"}
    first = _reserve(api, operator, event_id, **body, at=(now - timedelta(hours=2)).isoformat())
    assert first.status_code == 201, first.text
    retry = _reserve(api, operator, event_id, **body)  # now: the event has ended
    assert (retry.status_code, retry.json()) == (201, first.json())
    fresh = _reserve(api, operator, event_id, **{**body, "request_id": "late-2"})
    assert (fresh.status_code, fresh.json()["code"]) == (409, "not_live")
    _flush_and_forget(api, event_id)
    assert _held(factory) == (1, 1, 1, 1)
