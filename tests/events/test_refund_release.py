"""A paid reservation is given back when the order that paid for it is refunded in full (``events.refunds``):
marked expired, its units back in the item's stock and the shopper's per-person counter, once however often
the refund or its webhook comes; a partial refund gives nothing back; an unrefunded 0-fen order still pays, as
settlement counts it; a settlement beside the refund never keeps a hold paid for the refunded order. With the
Redis gate, the refund reaches the event's state only once it committed (``test_refund_gate``: the units
given back, or a state seeded since marked stale and seeded again from the database). The worlds
are in ``refund_worlds``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import refunds
from neigou.events.holds import settle_holds
from neigou.events.models import Reservation, ReservationStatus
from neigou.kit.clock import utcnow
from neigou.kit.settings import use_settings
from tests.conftest import row_counts
from tests.events.builders import SKU, gate_of, reserve
from tests.events.refund_worlds import (
    EXPIRED,
    PAID,
    SHOPPER,
    holds_and_orders,
    notes,
    paid_holds,
    refund,
    refunded_in_full,
    state,
)
from tests.lock_waits import lock_waits, paused, two_sides


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        gate_api: TestClient = request.getfixturevalue("gate_api")
        return gate_api
    return client


def test_a_full_refund_gives_back_the_reservation_it_paid_for(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once kept paid for good: the refunded units stayed sold for the event's stock and limit."""
    # The gate's state counts as seeded moments ago however slowly the machine runs the steps below.
    monkeypatch.setattr(gate_module, "SEEDED_BEFORE_REFUND_SECONDS", 3600)
    event_id, _ = paid_holds(api, operator, factory)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
    refund(api, operator, "EV-1", "R1", 5000)  # partial: nothing given back
    assert state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
    refund(api, operator, "EV-1", "R2", 4900)  # the rest: one unit back, the newest hold
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    before = row_counts(factory)
    refund(api, operator, "EV-1", "R2", 4900)  # the webhook again: nothing more
    with factory() as session, session.begin():
        assert refunds.release_refunded(session, event_id=event_id, customer=_hash(factory), at=utcnow()) == 0
        assert settle_holds(session, at=utcnow() + timedelta(hours=2)) == (0, 0)
    assert (state(factory), row_counts(factory)) == (([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1), before)
    refund(api, operator, "EV-2", "R3", 9900)
    assert state(factory) == ([("hold-1", EXPIRED), ("hold-2", EXPIRED)], 0, 0)
    app: Any = api.app
    if app.state.events.gate is not None:  # seeded moments ago: marked stale, seeded again (no note left)
        _, gate, base = gate_of(app, event_id)
        assert not gate.seeded(base)
        assert notes(gate, base) == []
    again = reserve(api, operator, event_id, SHOPPER, quantity=2, request_id="hold-3")
    assert again.status_code == 201, again.text  # within the limit of two again
    app.state.events.flush()
    assert state(factory)[1:] == (2, 2)


def _hash(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return str(session.scalar(select(Reservation.customer_ref_hash).limit(1)))


def test_an_order_of_no_event_and_a_refund_of_another_shopper_give_nothing_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, program_id = paid_holds(client, operator, factory)
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
    refund(client, operator, "EV-3", "R1", 9900)
    refund(client, operator, "PLAIN-1", "R2", 9900)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)


def test_a_full_refund_leaves_what_an_unrefunded_free_order_pays_for(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A 0-fen order (a free gift of the event) never refunded still pays, as settlement counts it:
    refunding the other order in full gives back its own unit only."""
    paid_holds(api, operator, factory, fens=(0, 100))
    refund(api, operator, "EV-2", "R1", 100)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)


def test_a_hold_settled_while_its_order_is_refunded_is_not_kept_paid(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The refund finds the hold still held and gives nothing back; settlement waits for the refund's
    order lock (``holds._lock_counted_orders``) and counts it refunded, so the hold stays held
    (it expires as any unpaid one) instead of being kept paid for an order refunded in full."""
    event_id, _ = holds_and_orders(client, operator, factory, fens=(9900,))
    waits = lock_waits(factory, 2)

    def refunding(session: Session) -> int:
        order = refunded_in_full(session, "EV-1")
        release = paused(refunds.release_refunded, waits)
        return int(release(session, event_id=event_id, customer=order.customer_ref_hash, at=utcnow()))

    released, settled = two_sides(factory, refunding, lambda s: settle_holds(s, at=utcnow()), waits)
    assert (released, settled) == (0, (0, 0))
    assert state(factory) == ([("hold-1", ReservationStatus.HELD)], 1, 1)


def test_the_gate_is_noted_only_once_the_refund_committed(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """No Redis call while the refund holds its row locks, none for a refund that rolls back; once
    committed, the unit is given back and the note taken off."""
    event_id, _ = paid_holds(redis_client_app, operator, factory)
    app: Any = redis_client_app.app
    _, gate, base = gate_of(app, event_id)
    gate.client.set(f"{base}:seeded-at", 0, keepttl=True)  # seeded long before the refund
    before = notes(gate, base)
    for commit in (False, True):
        with factory() as session:
            use_settings(session, app.state.settings)
            order = refunded_in_full(session, "EV-2")
            assert (
                refunds.release_refunded(
                    session, event_id=event_id, customer=order.customer_ref_hash, at=utcnow()
                )
                == 1
            )
            assert notes(gate, base) == before  # not while the locks are held
            assert gate.counts(base)[SKU] == 2
            session.commit() if commit else session.rollback()
        if not commit:
            assert notes(gate, base) == before
            assert state(factory) == ([("hold-1", PAID), ("hold-2", PAID)], 2, 2)
    assert notes(gate, base) == before
    assert gate.counts(base)[SKU] == 1
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
