"""Worlds of the refund tests (``test_refund_release``, ``test_refund_gate``, ``test_refund_gate_race``,
``test_refund_seeding``): a shopper's paid reservations and the orders that paid for them, refunds, and
what the database and the Redis gate then hold."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.gate import ReservationGate
from neigou.events.holds import settle_holds
from neigou.events.models import CustomerCount, Event, Reservation, ReservationStatus
from neigou.kit.clock import utcnow
from neigou.orders.models import Order
from tests.events.builders import SKU, gate_of, one_employee_event, reserve, reserved

SHOPPER = "13800000001"
PAID, EXPIRED = ReservationStatus.PAID, ReservationStatus.EXPIRED


def holds_and_orders(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session], fens: tuple[int, ...]
) -> tuple[int, int]:
    """A shopper's reservations of one unit each (hold-1, hold-2, …), and one order of one unit per
    reservation paying ``fens`` (EV-1, EV-2, …), not settled yet; the event's and the program's ids."""
    event_id = one_employee_event(api, operator)
    product = {"sku": SKU, "title": "茶", "price_fen": 9900, "commission_rate_bp": 0}
    assert api.post("/api/v1/products", json=product, headers=operator).status_code == 201
    with factory() as session:
        program_id = int(session.scalar(select(Event.program_id).where(Event.id == event_id)) or 0)
    for n in range(1, len(fens) + 1):
        at = (utcnow() - timedelta(minutes=10 - n)).isoformat()
        made = reserve(api, operator, event_id, SHOPPER, at=at, request_id=f"hold-{n}")
        assert made.status_code == 201, made.text
    app: Any = api.app
    app.state.events.flush()
    for n, fen in enumerate(fens, start=1):
        order = {
            "external_id": f"EV-{n}",
            "program_id": program_id,
            "customer_ref": SHOPPER,
            "event_id": event_id,
            "items": [{"sku": SKU, "quantity": 1, "paid_fen": fen}],
            "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        }
        made = api.post("/api/v1/orders", json=order, headers=operator)
        assert made.status_code == 201, made.text
    return event_id, program_id


def paid_holds(
    api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    fens: tuple[int, ...] = (9900, 9900),
) -> tuple[int, int]:
    """A shopper's two reservations of one unit each, paid by two orders of one unit (EV-1, EV-2)."""
    event_id, program_id = holds_and_orders(api, operator, factory, fens)
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=1)) == (len(fens), 0)
    return event_id, program_id


def state(
    factory: sessionmaker[Session],
) -> tuple[list[tuple[str, ReservationStatus]], int | None, int | None]:
    """Each reservation (request id, status), the item's reserved units, the shopper's counter."""
    with factory() as session:
        holds = session.execute(select(Reservation.request_id, Reservation.status).order_by(Reservation.id))
        counter = session.scalar(select(CustomerCount.reserved))
        return [(str(r), s) for r, s in holds], reserved(factory), counter


def refund(api: TestClient, operator: dict[str, str], order: str, refund_id: str, fen: int) -> None:
    """A refund of ``fen`` of the order through the API."""
    body = {"refund_id": refund_id, "amount_fen": fen}
    refunded = api.post(f"/api/v1/orders/{order}/refunds", json=body, headers=operator)
    assert refunded.status_code in {200, 201}, refunded.text


def refunded_in_full(session: Session, external_id: str) -> Order:
    """The order locked and refunded in full, as ``orders.service.refund`` leaves it for its listener."""
    order = session.scalars(select(Order).where(Order.external_id == external_id).with_for_update()).one()
    order.refunded_fen = order.paid_fen
    session.flush()
    return order


def dated_gate(api: TestClient, event_id: int, *, seeded_ago: int = 60) -> tuple[ReservationGate, str]:
    """The event's gate, its state (seeded by the first reservation) dated ``seeded_ago`` seconds back."""
    app: Any = api.app
    _, gate, base = gate_of(app, event_id)
    assert gate.seeded(base)
    gate.client.set(f"{base}:seeded-at", int(time.time()) - seeded_ago, keepttl=True)
    return gate, base


def counters(gate: ReservationGate, base: str) -> tuple[int, int]:
    """The sku's units taken and the shopper's, as the gate counts them."""
    raw: dict[bytes, bytes] = gate.client.hgetall(f"{base}:cust")  # type: ignore[assignment]
    mine = [int(v) for k, v in raw.items() if k.startswith(f"{SKU}|".encode())]
    return gate.counts(base).get(SKU, 0), sum(mine)


def notes(gate: ReservationGate, base: str) -> list[bytes]:
    """The event's notes still in the gate."""
    fields: list[bytes] = gate.client.hkeys(gate.notes)  # type: ignore[assignment]
    return [f for f in fields if f.startswith(f"{base}#".encode())]
