"""A paid reservation is given back when the order that paid for it is refunded in full (``events.refunds``):
marked expired, its units back in the item's stock and the shopper's per-person counter, once however often
the refund or its webhook comes; a partial refund gives nothing back. With the Redis gate, the event's state
is seeded again from the database once the next settlement sweeps the note the refund left."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import refunds
from neigou.events.holds import settle_holds
from neigou.events.models import CustomerCount, Event, Reservation, ReservationStatus
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.events.builders import SKU, gate_of, one_employee_event, reserve, reserved

SHOPPER = "13800000001"


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        app: Any = redis_client.app
        monkeypatch.setattr(refunds, "settings_of", lambda _session: app.state.settings)  # the app's Redis
        return redis_client
    return client


def _paid_holds(api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> tuple[int, int]:
    """A shopper's two reservations of one unit each, paid by two orders of one unit (EV-1, EV-2)."""
    event_id = one_employee_event(api, operator)
    product = {"sku": SKU, "title": "茶", "price_fen": 9900, "commission_rate_bp": 0}
    assert api.post("/api/v1/products", json=product, headers=operator).status_code == 201
    with factory() as session:
        program_id = int(session.scalar(select(Event.program_id).where(Event.id == event_id)) or 0)
    for n in (1, 2):
        at = (utcnow() - timedelta(minutes=10 - n)).isoformat()
        made = reserve(api, operator, event_id, SHOPPER, at=at, request_id=f"hold-{n}")
        assert made.status_code == 201, made.text
    app: Any = api.app
    app.state.events.flush()
    for n in (1, 2):
        order = {
            "external_id": f"EV-{n}",
            "program_id": program_id,
            "customer_ref": SHOPPER,
            "event_id": event_id,
            "items": [{"sku": SKU, "quantity": 1, "paid_fen": 9900}],
            "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        }
        made = api.post("/api/v1/orders", json=order, headers=operator)
        assert made.status_code == 201, made.text
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=1)) == (2, 0)
    return event_id, program_id


def _state(
    factory: sessionmaker[Session],
) -> tuple[list[tuple[str, ReservationStatus]], int | None, int | None]:
    """Each reservation (request id, status), the item's reserved units, the shopper's counter."""
    with factory() as session:
        holds = session.execute(select(Reservation.request_id, Reservation.status).order_by(Reservation.id))
        counter = session.scalar(select(CustomerCount.reserved))
        return [(str(r), s) for r, s in holds], reserved(factory), counter


def _refund(api: TestClient, operator: dict[str, str], order: str, refund_id: str, fen: int) -> None:
    body = {"refund_id": refund_id, "amount_fen": fen}
    refunded = api.post(f"/api/v1/orders/{order}/refunds", json=body, headers=operator)
    assert refunded.status_code in {200, 201}, refunded.text


PAID, EXPIRED = ReservationStatus.PAID, ReservationStatus.EXPIRED


def test_a_full_refund_gives_back_the_reservation_it_paid_for(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Once kept paid for good: the refunded units stayed sold for the event's stock and limit."""
    event_id, _ = _paid_holds(api, operator, factory)
    assert _state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
    _refund(api, operator, "EV-1", "R1", 5000)  # partial: nothing given back
    assert _state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
    _refund(api, operator, "EV-1", "R2", 4900)  # the rest: one unit back, the newest hold
    assert _state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    before = row_counts(factory)
    _refund(api, operator, "EV-1", "R2", 4900)  # the webhook again: nothing more
    with factory() as session, session.begin():
        assert refunds.release_refunded(session, event_id=event_id, customer=_hash(factory)) == 0
        assert settle_holds(session, at=utcnow() + timedelta(hours=2)) == (0, 0)
    assert (_state(factory), row_counts(factory)) == (([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1), before)
    _refund(api, operator, "EV-2", "R3", 9900)
    assert _state(factory) == ([("hold-1", EXPIRED), ("hold-2", EXPIRED)], 0, 0)
    app: Any = api.app
    if app.state.events.gate is not None:  # the gate counts them until the sweep, then is seeded again
        _, gate, base = gate_of(app, event_id)
        assert gate.counts(base)[SKU] == 2
        assert base in gate.sweep_notes(older_than=-1)
    again = reserve(api, operator, event_id, SHOPPER, quantity=2, request_id="hold-3")
    assert again.status_code == 201, again.text  # within the limit of two again
    app.state.events.flush()
    assert _state(factory)[1:] == (2, 2)


def _hash(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return str(session.scalar(select(Reservation.customer_ref_hash).limit(1)))


def test_an_order_of_no_event_and_a_refund_of_another_shopper_give_nothing_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, program_id = _paid_holds(client, operator, factory)
    other = {
        "external_id": "EV-3",
        "program_id": program_id,
        "customer_ref": "13800000002",
        "event_id": event_id,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": 9900}],
        "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }
    assert client.post("/api/v1/orders", json=other, headers=operator).status_code == 201
    plain = {**other, "external_id": "PLAIN-1", "customer_ref": SHOPPER, "event_id": None}
    assert client.post("/api/v1/orders", json=plain, headers=operator).status_code == 201
    _refund(client, operator, "EV-3", "R1", 9900)
    _refund(client, operator, "PLAIN-1", "R2", 9900)
    assert _state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
