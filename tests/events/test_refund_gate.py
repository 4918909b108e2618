"""A full refund gives its released units back to the Redis gate once it committed (``refunds``,
``gate.give_back_refund``): a shopper at their limit buys again without waiting for the settlement,
a refund delivered twice gives back once, the gate never offers more than the event's stock, a state
that may have read the refund already is seeded again instead, and Redis failing the give-back
fails no refund (the note stays for the settlement's sweep)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events.gate import ReservationGate
from neigou.events.gate_keys import seeded_key
from neigou.events.models import Reservation
from tests.events.builders import SKU, reserve
from tests.events.refund_worlds import (
    EXPIRED,
    PAID,
    SHOPPER,
    counters,
    dated_gate,
    notes,
    paid_holds,
    refund,
    state,
)


def test_a_shopper_at_the_limit_buys_again_after_a_full_refund(
    gate_api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)
    refused = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    assert (refused.status_code, refused.json()["code"]) == (409, "limit_reached")
    refund(gate_api, operator, "EV-2", "R1", 9900)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    assert counters(gate, base) == (1, 1)  # given back, in the state as seeded: no seeding again
    assert gate.seeded(base)
    assert notes(gate, base) == []
    again = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert again.status_code == 201, again.text
    app: Any = gate_api.app
    app.state.events.flush()
    assert state(factory)[1:] == (2, 2)


def test_a_refund_delivered_twice_gives_back_once(
    gate_api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)
    refund(gate_api, operator, "EV-2", "R1", 9900)
    refund(gate_api, operator, "EV-2", "R1", 9900)  # the same refund id again (a webhook redelivered)
    assert counters(gate, base) == (1, 1)
    with factory() as session:
        hold = session.scalars(select(Reservation).where(Reservation.request_id == "hold-2")).one()
        released = [(hold.id, SKU, hold.customer_ref_hash, hold.quantity)]
    assert gate.give_back_refund(gate.note(base), released) == 1  # the give-back itself run again
    assert counters(gate, base) == (1, 1)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    over = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert (over.status_code, over.json()["code"]) == (409, "limit_reached")


def test_the_gate_never_offers_more_than_the_stock(
    gate_api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A state that counts fewer units than the refund gives back (they went back already) stays at
    zero taken: the event's five units are sold once, never six."""
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)
    gate.client.hset(f"{base}:stock", SKU, 1)
    refund(gate_api, operator, "EV-1", "R1", 9900)
    refund(gate_api, operator, "EV-2", "R2", 9900)
    assert counters(gate, base) == (0, 0)
    assert reserve(gate_api, operator, event_id, SHOPPER, quantity=2, request_id="hold-3").status_code == 201
    for n in range(2, 5):
        assert reserve(gate_api, operator, event_id, f"1380000000{n}", request_id=f"o-{n}").status_code == 201
    sold_out = reserve(gate_api, operator, event_id, "13800000005", request_id="o-5")
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "sold_out")
    assert gate.counts(base)[SKU] == 5


def test_a_state_seeded_since_the_refund_may_have_read_it_is_seeded_again(
    gate_api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seeded in the last seconds, the state may count the refund already: it is marked stale, not
    given back twice, and the next reservation seeds it again from the database."""
    monkeypatch.setattr(gate_module, "SEEDED_BEFORE_REFUND_SECONDS", 3600)  # however slow the machine
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id, seeded_ago=0)
    refund(gate_api, operator, "EV-2", "R1", 9900)
    assert not gate.client.exists(seeded_key(base))
    assert notes(gate, base) == []
    again = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    assert again.status_code == 201, again.text
    assert counters(gate, base) == (2, 2)  # seeded again: 1 from the database, 1 just taken
    over = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert (over.status_code, over.json()["code"]) == (409, "limit_reached")


def test_redis_failing_the_give_back_fails_no_refund(
    gate_api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refund is answered and stored; the note taken first stays, and the next settlement's sweep
    marks the state stale, to be seeded again from the database."""
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)

    def down(*_args: Any, **_kwargs: Any) -> int:
        raise redis.ConnectionError("Redis went away")

    with monkeypatch.context() as patched:
        patched.setattr(ReservationGate, "give_back_refund", down)
        refund(gate_api, operator, "EV-2", "R1", 9900)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    assert counters(gate, base) == (2, 2)
    assert len(notes(gate, base)) == 1
    assert base in gate.sweep_notes(older_than=-1)
    again = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    assert again.status_code == 201, again.text
