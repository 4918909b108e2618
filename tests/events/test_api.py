"""Events through the API, on the database path and on the Redis gate: the same answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.holds import settle_holds
from neigou.events.models import (
    CustomerCount,
    Event,
    EventEmployee,
    EventItem,
    Invitation,
    Reservation,
    ReservationStatus,
)
from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_hash
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import SECRET, row_counts
from tests.events.builders import SKU, add_employees, create_event, invite
from tests.factories import create_member, create_program
from tests.lock_waits import assert_shed
from tests.phone_forms import written_forms


def _world(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    program = create_program(client, operator)
    seller = create_member(client, operator, program["id"], name="销售")
    event_id = create_event(client, operator, program["id"])
    add_employees(
        client,
        operator,
        event_id,
        [
            {"employee_no": "E1", "name": "员工一", "member_id": seller["id"]},
            {"employee_no": "E2", "name": "员工二"},
        ],
    )
    return {"program": program["id"], "seller": seller["id"], "event": event_id}


def _reserve(client: TestClient, operator: dict[str, str], event_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/events/{event_id}/reservations", json={"sku": SKU, **body}, headers=operator)


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def _flush(client: TestClient) -> None:
    app: Any = client.app
    app.state.events.flush()


def test_create_event_and_quota(client: TestClient, operator: dict[str, str]) -> None:
    world = _world(client, operator)
    assert add_employees(client, operator, world["event"], [{"employee_no": "E1", "name": "again"}]) == 0
    codes = invite(client, operator, world["event"], "E1", 2)
    assert len(codes) == 2
    assert len(set(codes)) == 2
    over = client.post(
        f"/api/v1/events/{world['event']}/invitations",
        json={"employee_no": "E1", "count": 1},
        headers=operator,
    )
    assert (over.status_code, over.json()["code"]) == (409, "guest_quota_exceeded")
    nobody = client.post(
        f"/api/v1/events/{world['event']}/invitations",
        json={"employee_no": "E9", "count": 1},
        headers=operator,
    )
    assert (nobody.status_code, nobody.json()["code"]) == (422, "employee_not_found")
    assert "E9" not in nobody.json()["detail"]  # an employee number typed is not repeated


def test_refused_event_bodies_write_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    now = utcnow()
    before = row_counts(factory)
    body = {
        "program_id": program["id"],
        "name": "x",
        "starts_at": now.isoformat(),
        "ends_at": (now - timedelta(hours=1)).isoformat(),
        "guests_per_employee": 1,
        "items": [{"sku": "A", "price_fen": 1, "stock": 1, "per_person_limit": 1}],
    }
    assert client.post("/api/v1/events", json=body, headers=operator).json()["code"] == "invalid_window"
    body["ends_at"] = (now + timedelta(hours=1)).isoformat()
    body["items"] = body["items"] * 2
    assert client.post("/api/v1/events", json=body, headers=operator).json()["code"] == "duplicate_sku"
    assert row_counts(factory) == before


def test_reservations_hold_stock_limits_and_invitations(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _world(api, operator)
    event = world["event"]
    code_a, code_b = invite(api, operator, event, "E2", 2)
    first = _reserve(api, operator, event, customer_ref="13800000001", employee_no="E1", quantity=2)
    assert first.status_code == 201, first.text
    assert first.json()["price_fen"] == 9900
    again = _reserve(api, operator, event, customer_ref="13800000001", employee_no="E1")
    assert (again.status_code, again.json()["code"]) == (409, "limit_reached")
    stranger = _reserve(api, operator, event, customer_ref="13800000002")
    assert stranger.json()["code"] == "not_invited"
    unknown_employee = _reserve(api, operator, event, customer_ref="13800000002", employee_no="E404")
    assert unknown_employee.json()["code"] == "not_invited"
    guest = _reserve(api, operator, event, customer_ref="13800000003", invitation_code=code_a, quantity=2)
    assert guest.status_code == 201, guest.text
    # The code is bound to its first shopper; another shopper with it is not invited.
    taken_code = _reserve(api, operator, event, customer_ref="13800000004", invitation_code=code_a)
    assert taken_code.json()["code"] == "not_invited"
    last = _reserve(api, operator, event, customer_ref="13800000004", invitation_code=code_b, quantity=2)
    assert last.json()["code"] == "sold_out"  # 4 of 5 taken
    one = _reserve(api, operator, event, customer_ref="13800000004", invitation_code=code_b)
    assert one.status_code == 201
    early = _reserve(  # before the event opened (a future time is refused outright)
        api,
        operator,
        event,
        customer_ref="13800000001",
        employee_no="E2",
        at=(utcnow() - timedelta(hours=2)).isoformat(),
    )
    assert early.json()["code"] == "not_live"
    _flush(api)
    with factory() as session:
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 5
        assert session.scalar(select(func.sum(Reservation.quantity))) == 5
        assert (
            session.scalar(
                select(func.count()).select_from(Invitation).where(Invitation.customer_ref_hash.is_not(None))
            )
            == 2
        )
        assert session.scalar(select(func.sum(CustomerCount.reserved))) == 5


def test_unpaid_holds_expire_and_return_stock(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _world(api, operator)
    event = world["event"]
    assert _reserve(api, operator, event, customer_ref="c1", employee_no="E1", quantity=2).status_code == 201
    assert _reserve(api, operator, event, customer_ref="c2", employee_no="E2", quantity=2).status_code == 201
    _flush(api)
    app: Any = api.app
    gate = app.state.events.gate
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(minutes=16), gate=gate) == (0, 2)
    with factory() as session:
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 0
        assert set(session.scalars(select(Reservation.status))) == {ReservationStatus.EXPIRED}
    # The units are back: the same shoppers may reserve again, up to the limit.
    assert _reserve(api, operator, event, customer_ref="c1", employee_no="E1", quantity=2).status_code == 201
    assert _reserve(api, operator, event, customer_ref="c2", employee_no="E2", quantity=2).status_code == 201
    (code,) = invite(api, operator, event, "E2", 1)
    assert (
        _reserve(api, operator, event, customer_ref="c3", invitation_code=code, quantity=2).json()["code"]
        == "sold_out"
    )


def test_a_reservation_dated_in_the_future_is_refused(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A future ``at`` would reserve at the event price before the event opens, or hold the stock long
    past the hold's expiry: 422 ``time_in_future``, nothing written, on both paths."""
    program = create_program(api, operator)
    now = utcnow()
    tomorrow = create_event(
        api,
        operator,
        program["id"],
        starts_at=(now + timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=2)).isoformat(),
    )
    live = create_event(api, operator, program["id"])
    for event_id in (tomorrow, live):
        add_employees(api, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    before = row_counts(factory)
    for event_id, at in ((tomorrow, now + timedelta(days=1, hours=1)), (live, now + timedelta(hours=20))):
        refused = _reserve(
            api, operator, event_id, customer_ref="13800000001", employee_no="E1", at=at.isoformat()
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "time_in_future"), refused.text
    _flush(api)
    assert row_counts(factory) == before
    opened = _reserve(api, operator, tomorrow, customer_ref="13800000001", employee_no="E1")
    assert (opened.status_code, opened.json()["code"]) == (409, "not_live")


SAME_PHONE = [
    "+86 138 1234 5678",
    "0086-138-1234-5678",
    "8613812345678",
    "１３８１２３４５６７８",
    "138 1234 5678",
    *written_forms("13812345678"),
]


def test_the_per_customer_limit_counts_one_phone_however_it_is_written(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = _world(api, operator)
    event = world["event"]
    first = _reserve(api, operator, event, customer_ref="13812345678", employee_no="E1", quantity=2)
    assert first.status_code == 201, first.text
    for written in SAME_PHONE:
        again = _reserve(api, operator, event, customer_ref=written, employee_no="E1")
        assert (again.status_code, again.json()["code"]) == (409, "limit_reached"), written
    _flush(api)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CustomerCount)) == 1
        assert session.scalar(select(func.sum(Reservation.quantity))) == 2


def test_a_redis_that_does_not_answer_sheds_reservations_with_retry_after(
    client: TestClient, operator: dict[str, str], settings: Settings, factory: sessionmaker[Session]
) -> None:
    """The gate's Redis down: 503 ``overloaded`` with ``Retry-After`` (the caller retries), never a 500."""
    world = _world(client, operator)
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    before = row_counts(factory)
    with TestClient(create_app(down, session_factory=factory), raise_server_exceptions=False) as unreachable:
        shed = _reserve(unreachable, operator, world["event"], customer_ref="13800000001", employee_no="E1")
    assert_shed(shed)
    assert row_counts(factory) == before


def test_an_employee_number_is_one_shoppers(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """An employee number binds to the first shopper who reserves with it, as an invitation code does:
    another shopper with it is refused ``employee_no_taken`` (one number buys within one per-person
    limit; the employee's guests come with invitation codes, within ``guests_per_employee``), also once
    the gate is seeded again from the database."""
    world = _world(api, operator)
    event = world["event"]
    first = _reserve(api, operator, event, customer_ref="13800000001", employee_no="E1", quantity=2)
    assert first.status_code == 201, first.text
    second = _reserve(api, operator, event, customer_ref="13800000002", employee_no="E1")
    assert (second.status_code, second.json()["code"]) == (409, "employee_no_taken")
    assert "E1" not in second.text  # the refusal never quotes the number
    assert _reserve(api, operator, event, customer_ref="13800000001", employee_no="e1").json()["code"] == (
        "limit_reached"  # still the first shopper's, in any form
    )
    (code,) = invite(api, operator, event, "E1", 1)
    guest = _reserve(api, operator, event, customer_ref="13800000002", invitation_code=code, quantity=2)
    assert guest.status_code == 201, guest.text
    _flush(api)
    gate: Any = api.app.state.events.gate  # type: ignore[attr-defined]
    if gate is not None:  # the state is seeded again: the binding comes from the database
        with factory() as session:
            created = session.scalar(select(Event.created_at).where(Event.id == event))
        assert created is not None
        gate.forget(gate.base(event, created))
    third = _reserve(api, operator, event, customer_ref="13800000003", employee_no="E1", sku="EV-CUP")
    assert third.json()["code"] == "employee_no_taken"
    with factory() as session:
        bound = dict(
            session.execute(select(EventEmployee.employee_no, EventEmployee.customer_ref_hash)).all()
        )
        assert bound == {"E1": customer_ref_hash(SECRET, "13800000001"), "E2": None}
        assert session.scalar(select(EventItem.reserved).where(EventItem.sku == SKU)) == 4


def test_a_shopper_is_one_invitations_guest(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A shopper bound to an invitation code is refused a second code of the event
    (``already_invited``: an order is one invitation's), also once the gate is seeded again; the code
    stays free for another shopper."""
    world = _world(api, operator)
    event = world["event"]
    first, second = invite(api, operator, event, "E2", 2)
    assert _reserve(api, operator, event, customer_ref="c1", invitation_code=first).status_code == 201
    again = _reserve(api, operator, event, customer_ref="c1", invitation_code=second)
    assert (again.status_code, again.json()["code"]) == (409, "already_invited")
    assert second not in again.text
    assert _reserve(api, operator, event, customer_ref="c1", invitation_code=first).status_code == 201
    _flush(api)
    gate: Any = api.app.state.events.gate  # type: ignore[attr-defined]
    if gate is not None:  # the state is seeded again: who holds which code comes from the database
        with factory() as session:
            created = session.scalar(select(Event.created_at).where(Event.id == event))
        assert created is not None
        gate.forget(gate.base(event, created))
    later = _reserve(api, operator, event, customer_ref="c1", invitation_code=second, sku="EV-CUP")
    assert later.json()["code"] == "already_invited"
    assert _reserve(api, operator, event, customer_ref="c2", invitation_code=second).status_code == 201
    _flush(api)
    with factory() as session:
        bound = dict(session.execute(select(Invitation.code, Invitation.customer_ref_hash)).all())
    assert bound == {first: customer_ref_hash(SECRET, "c1"), second: customer_ref_hash(SECRET, "c2")}


def test_a_shopper_is_an_employee_or_a_guest_of_an_event_never_both(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """An employee who reserved with their number is refused an invitation code of the event
    (``already_employee``), a guest is refused an unbound employee number (``already_guest``): one
    per-person limit each, never two; also once the gate is seeded again from the database."""
    world = _world(api, operator)
    event = world["event"]
    first, second = invite(api, operator, event, "E2", 2)
    assert _reserve(api, operator, event, customer_ref="c1", employee_no="E1").status_code == 201
    assert _reserve(api, operator, event, customer_ref="c2", invitation_code=first).status_code == 201
    for _ in range(2):  # then with the state seeded again: the bindings come from the database
        as_guest = _reserve(api, operator, event, customer_ref="c1", invitation_code=second)
        assert (as_guest.status_code, as_guest.json()["code"]) == (409, "already_employee")
        assert as_guest.json()["detail"] == "该顾客已在本次活动中用工号购买，不能再作为受邀亲友。"
        assert second not in as_guest.text
        as_employee = _reserve(api, operator, event, customer_ref="c2", employee_no="E2")
        assert (as_employee.status_code, as_employee.json()["code"]) == (409, "already_guest")
        assert as_employee.json()["detail"] == "该顾客已是本次活动的受邀亲友，不能再用工号购买。"
        assert "E2" not in as_employee.text
        _flush(api)
        gate: Any = api.app.state.events.gate  # type: ignore[attr-defined]
        if gate is not None:
            with factory() as session:
                created = session.scalar(select(Event.created_at).where(Event.id == event))
            assert created is not None
            gate.forget(gate.base(event, created))
    # Both stay free for others.
    assert _reserve(api, operator, event, customer_ref="c3", invitation_code=second).status_code == 201
    assert _reserve(api, operator, event, customer_ref="c4", employee_no="E2").status_code == 201
    _flush(api)
    with factory() as session:
        bound = dict(
            session.execute(select(EventEmployee.employee_no, EventEmployee.customer_ref_hash)).all()
        )
        held = dict(session.execute(select(Invitation.code, Invitation.customer_ref_hash)).all())
    hashed = {c: customer_ref_hash(SECRET, c) for c in ("c1", "c2", "c3", "c4")}
    assert bound == {"E1": hashed["c1"], "E2": hashed["c4"]}
    assert held == {first: hashed["c2"], second: hashed["c3"]}
