"""A PIPL opt-out erases the shopper from employee-purchase events, on the database path and on the
Redis gate: reservations, per-person counters and invitation bindings name a tombstone, employee
numbers bound to the shopper are released (the employee buys with theirs again), the gate's state
follows, and stock is untouched."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.gate import ReservationGate
from neigou.events.models import CustomerCount, Event, EventEmployee, EventItem, Invitation, Reservation
from neigou.events.reservations import EventBook
from neigou.events.runtime import EventsRuntime
from neigou.events.writer import ReservationWriter
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash
from neigou.privacy import service
from tests.conftest import SECRET, TEST_ACTOR
from tests.events.builders import SKU, add_employees, create_event, invite
from tests.factories import create_program

SHOPPER = "13812345678"
OTHER = "13800000009"
CUP = "EV-CUP"


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def _reserve(client: TestClient, operator: dict[str, str], event_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/events/{event_id}/reservations", json={"sku": SKU, **body}, headers=operator)


def _opt_out(client: TestClient, operator: dict[str, str], request_id: str, **body: Any) -> Any:
    response = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "+86 138 1234 5678", "request_id": request_id, **body},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    return response.json()["erased"]


def _world(api: TestClient, operator: dict[str, str]) -> tuple[int, str, int]:
    """The shopper a guest of one event (with a code of E1's) and the employee E1 of another (a shopper
    is never both in one event); the other shopper a guest of the first. The events and the code."""
    program = create_program(api, operator)
    event, staff_event = (
        create_event(api, operator, program["id"]),
        create_event(api, operator, program["id"]),
    )
    for each in (event, staff_event):
        add_employees(api, operator, each, [{"employee_no": "E1", "name": "员工一"}])
    code, spare = invite(api, operator, event, "E1", 2)
    for where, body in (
        (event, {"customer_ref": SHOPPER, "invitation_code": code, "quantity": 2}),
        (event, {"customer_ref": SHOPPER, "invitation_code": code, "sku": CUP, "request_id": "cup-1"}),
        (event, {"customer_ref": OTHER, "invitation_code": spare}),
        (staff_event, {"customer_ref": SHOPPER, "employee_no": "E1", "sku": CUP}),
    ):
        response = _reserve(api, operator, where, **body)
        assert response.status_code == 201, response.text
    return event, code, staff_event


def _gate_state(api: TestClient, factory: sessionmaker[Session], event_id: int) -> dict[str, Any]:
    """The gate's counters and bindings of the event (empty on the database path)."""
    gate = api.app.state.events.gate  # type: ignore[attr-defined]
    if gate is None:
        return {}
    with factory() as session:
        created = session.scalar(select(Event.created_at).where(Event.id == event_id))
    assert created is not None
    base = gate.base(event_id, created)
    return {
        kind: {k.decode(): v.decode() for k, v in gate.client.hgetall(f"{base}:{kind}").items()}
        for kind in ("cust", "inv", "req", "employees", "staff")
    }


def test_an_opt_out_tombstones_reservations_counters_and_invitations(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event, code, staff_event = _world(api, operator)
    shopper, other = customer_ref_hash(SECRET, SHOPPER), customer_ref_hash(SECRET, OTHER)
    # The reservations may still be in the gate's stream: the opt-out stores them before it erases.
    erased = _opt_out(api, operator, "shop-req-1")
    kinds = ("event_reservations", "event_counts", "event_invitations", "event_employees")
    assert {k: erased[k] for k in kinds} == {
        "event_reservations": 3,
        "event_counts": 3,
        "event_invitations": 1,
        "event_employees": 1,  # the second event's E1, bound to the shopper who reserved with it
    }
    with factory() as session:
        tombstones = set(
            session.scalars(select(Reservation.customer_ref_hash).where(Reservation.quantity > 0))
        )
        assert shopper not in tombstones
        assert other in tombstones
        (tombstone,) = tombstones - {other}
        assert tombstone.startswith("erased:")
        masked = session.execute(
            select(Reservation.customer_ref_masked, func.sum(Reservation.quantity))
            .group_by(Reservation.customer_ref_masked)
            .order_by(Reservation.customer_ref_masked)
        ).all()
        assert masked == [("138****0009", 1), ("已注销", 4)]
        counts = dict(
            session.execute(
                select(CustomerCount.customer_ref_hash, func.sum(CustomerCount.reserved)).group_by(
                    CustomerCount.customer_ref_hash
                )
            ).all()
        )
        assert counts == {tombstone: 4, other: 1}
        bound = dict(session.execute(select(Invitation.code, Invitation.customer_ref_hash)).all())
        assert bound[code] == tombstone
        assert other in bound.values()
        # The number is released, its reservation still names the employee.
        assert session.execute(select(EventEmployee.customer_ref_hash)).scalars().all() == [None, None]
        assert session.scalar(select(Reservation.employee_id).where(Reservation.event_id == staff_event))
        # Stock and the price paid are untouched.
        stock = session.execute(select(EventItem.event_id, EventItem.sku, EventItem.reserved)).all()
        assert sorted(stock) == sorted(
            [(event, SKU, 3), (event, CUP, 1), (staff_event, SKU, 0), (staff_event, CUP, 1)]
        )
    state = _gate_state(api, factory, event)
    if state:
        assert not any(shopper in field for field in state["cust"])
        assert state["cust"] == {f"{SKU}|{tombstone}": "2", f"{CUP}|{tombstone}": "1", f"{SKU}|{other}": "1"}
        assert state["inv"][code] == tombstone
        assert shopper not in state["inv"].values()
        assert state["employees"] == {"E1": ""}
        # The retry key keeps what it made, for the tombstone.
        assert list(state["req"]) == ["cup-1"]
        assert f"|{tombstone}|1|2500|" in state["req"]["cup-1"]
        assert shopper not in state["req"]["cup-1"]
        staff_state = _gate_state(api, factory, staff_event)
        assert staff_state["employees"] == {"E1": ""}  # released
        assert staff_state["staff"] == {}
        assert staff_state["cust"] == {f"{CUP}|{tombstone}": "1"}


def test_afterwards_the_limit_starts_afresh_the_number_is_the_employees_again_and_the_code_stays_used(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event, code, staff_event = _world(api, operator)
    refused = _reserve(api, operator, staff_event, customer_ref=SHOPPER, employee_no="E1", sku=CUP)
    assert refused.json()["code"] == "limit_reached"
    _opt_out(api, operator, "shop-req-1")
    # The number was released: the employee buys with it again, within a limit that starts afresh ...
    again = _reserve(api, operator, staff_event, customer_ref=SHOPPER, employee_no="E1", sku=CUP)
    assert again.status_code == 201, again.text
    # ... and once more it is one shopper's.
    taken = _reserve(api, operator, staff_event, customer_ref=OTHER, employee_no="E1")
    assert taken.json()["code"] == "employee_no_taken"
    # The code stays bound to the tombstone: the shopper who comes back is someone new to it.
    reused = _reserve(api, operator, event, customer_ref=SHOPPER, invitation_code=code)
    assert reused.json()["code"] == "not_invited"
    api.app.state.events.flush()  # type: ignore[attr-defined]
    shopper = customer_ref_hash(SECRET, SHOPPER)
    with factory() as session:
        mine = session.execute(
            select(CustomerCount.reserved).where(CustomerCount.customer_ref_hash == shopper)
        ).scalars()
        assert list(mine) == [1]
        number = select(EventEmployee.customer_ref_hash).where(EventEmployee.event_id == staff_event)
        assert session.scalar(number) == shopper


def test_an_opt_out_of_another_program_leaves_the_event_alone(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event, _code, _staff_event = _world(api, operator)
    elsewhere = create_program(api, operator, code="elsewhere")
    erased = _opt_out(api, operator, "shop-req-1", program_id=elsewhere["id"])
    assert (erased["event_reservations"], erased["event_counts"], erased["event_invitations"]) == (0, 0, 0)
    shopper = customer_ref_hash(SECRET, SHOPPER)
    with factory() as session:
        assert session.scalar(select(func.count()).where(Reservation.customer_ref_hash == shopper)) == 3
    state = _gate_state(api, factory, event)
    if state:
        assert state["inv"].get(_code) == shopper


def test_a_redis_that_does_not_answer_does_not_stop_the_opt_out(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    _world(client, operator)
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    gate = ReservationGate(dead, "unreachable")
    runtime = EventsRuntime(
        book=EventBook(factory), gate=gate, writer=ReservationWriter(dead, gate.stream, factory)
    )
    with transaction(factory) as session:
        erased = service.opt_out(
            session,
            secret_key=SECRET,
            customer_ref=SHOPPER,
            program_id=None,
            request_id="shop-req-1",
            actor=TEST_ACTOR,
            at=utcnow(),
            events=runtime,
        ).opt_out.erased
    assert erased["event_reservations"] == 3
    with factory() as session:
        shopper = customer_ref_hash(SECRET, SHOPPER)
        assert session.scalar(select(func.count()).where(Reservation.customer_ref_hash == shopper)) == 0
