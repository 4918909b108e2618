"""A full refund's give-back to the Redis gate never returns units a seeding already counted off, however
the seeding and the give-back interleave and however late the give-back reaches Redis
(``gate_scripts.REFUND_SCRIPT``, ``seeds.seed_state``'s released reservations), and a state seeded by
an older version, which records neither its seeding's generation nor the released reservations, is
seeded again instead of given back to."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import seeds
from neigou.events.gate import ReservationGate
from neigou.events.gate_keys import seeded_key
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


def _before_the_note(monkeypatch: pytest.MonkeyPatch, step: Callable[[ReservationGate, str], None]) -> None:
    """Run ``step`` after the refund committed, right before its note is taken."""
    note = ReservationGate.note

    def late(self: ReservationGate, base: str) -> str:
        step(self, base)
        return note(self, base)

    monkeypatch.setattr(ReservationGate, "note", late)


def test_a_seeding_between_the_commit_and_the_note_is_not_given_back_to_again(
    gate_api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another request seeds the state again after the refund committed, before its note: that seeding
    counts the refund already. The give-back then reaches Redis seconds later (the app stalled, or
    Redis's clock stepped forward: the seeding looks old), in the same generation as its note: it
    returns nothing, and the gate keeps one unit taken, as the database does."""
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)  # seeded a minute ago
    app: Any = gate_api.app
    ends_at = app.state.events.book.get(event_id).ends_at

    def seed_again(gate: ReservationGate, base: str) -> None:
        gate.client.delete(seeded_key(base))
        with factory() as session:
            read = lambda: seeds.seed_state(session, event_id)  # noqa: E731
            assert gate.seed(base, read, event_id=event_id, expire_at=gate.expiry(ends_at))
        assert counters(gate, base) == (1, 1)  # the refund counted by the seeding
        gate.client.set(f"{base}:seeded-at", int(time.time()) - 60, keepttl=True)  # and long ago

    _before_the_note(monkeypatch, seed_again)
    refund(gate_api, operator, "EV-2", "R1", 9900)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    assert counters(gate, base) == (1, 1)  # not (0, 0): one unit beyond the limit and the stock
    assert gate.seeded(base)
    assert notes(gate, base) == []
    reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    over = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert (over.status_code, over.json()["code"]) == (409, "limit_reached")


def test_a_state_seeded_by_an_older_version_is_seeded_again(
    gate_api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """During a rolling deploy an older process seeds the state after the refund committed: it moves
    the generation but leaves the seeded-at of the seeding before it (a minute old) and records no
    released reservation. The give-back cannot tell what that state counts: it marks it stale, and the
    next reservation seeds it again from the database."""
    event_id, _ = paid_holds(gate_api, operator, factory)
    gate, base = dated_gate(gate_api, event_id)

    def old_seeding(gate: ReservationGate, base: str) -> None:
        with factory() as session:
            seed = seeds.seed_state(session, event_id)
        pipe = gate.client.pipeline(transaction=True)
        pipe.delete(f"{base}:stock", f"{base}:cust")
        stock: dict[Any, Any] = {"": 0, **seed.stock}
        customers: dict[Any, Any] = seed.customers
        pipe.hset(f"{base}:stock", mapping=stock)
        pipe.hset(f"{base}:cust", mapping=customers)
        pipe.incr(f"{base}:gen")
        pipe.set(seeded_key(base), "1")
        pipe.execute()
        assert counters(gate, base) == (1, 1)

    _before_the_note(monkeypatch, old_seeding)
    refund(gate_api, operator, "EV-2", "R1", 9900)
    assert not gate.seeded(base)  # marked stale, not (0, 0)
    assert notes(gate, base) == []
    again = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    assert again.status_code == 201, again.text
    assert counters(gate, base) == (2, 2)  # seeded again: 1 from the database, 1 just taken
    over = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert (over.status_code, over.json()["code"]) == (409, "limit_reached")
    assert state(factory)[0][:2] == [("hold-1", PAID), ("hold-2", EXPIRED)]
    assert gate.counts(base)[SKU] == 2
