"""A seeding of the gate and a settlement's give-back never overlap, and a seeding that lost its lock
writes nothing.

A settlement notes its give-back only while no seeding holds the event's lock, and a seeding takes
the lock only while no give-back is pending: a give-back that finds the state unseeded has nothing to
do (the next seeding reads the database after its commit) and fails no seeding under way. The seeding
lock carries a token: a database read slower than the lock lets another seeding in, and the first
writes nothing and leaves the other's lock alone."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import holds, seeds
from neigou.events.gate import ReservationGate
from neigou.events.gate_values import Seed
from neigou.events.holds import settle_holds
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, reserved
from tests.events.conftest import Gated


def _one_expired(gated: Gated) -> None:
    """c1's two units past their hold, c3's one still held, all stored; the state then unseeded."""
    early = (utcnow() - timedelta(minutes=20)).isoformat()
    assert gated.reserve("c1", quantity=2, at=early).status_code == 201
    assert gated.reserve("c3").status_code == 201
    gated.runtime.flush()
    gated.gate.forget(gated.base)


def _settle(factory: sessionmaker[Session], gate: ReservationGate) -> None:
    with factory() as session:
        assert settle_holds(session, at=utcnow(), gate=gate) == (0, 1)
        session.commit()  # the give-back runs after the commit


def _seed(gated: Gated, factory: sessionmaker[Session], read: Any = None) -> bool:
    with factory() as session:
        return gated.gate.seed(
            gated.base,
            read or (lambda: seeds.seed_state(session, gated.event_id)),
            event_id=gated.event_id,
            expire_at=utcnow() + timedelta(days=1),
        )


def test_a_give_back_to_an_unseeded_state_leaves_it_alone(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """It used to mark the state stale: the generation moved, failing any seeding under way."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    generation = gate.client.get(f"{base}:gen")
    _settle(factory, gate)
    assert gate.client.get(f"{base}:gen") == generation
    assert gate.client.hlen(gate.notes) == 0
    assert gate.client.scard(f"{base}:returns") == 0
    assert gated.reserve("c4", quantity=2).status_code == 201  # seeds it with c1's units free
    assert gate.counts(base)[SKU] == 3
    assert gated.reserve("c5", quantity=2).status_code == 201
    assert gated.reserve("c6").json()["code"] == "sold_out"
    gated.runtime.flush()
    assert reserved(factory) == 5


def test_a_settlement_during_a_seeding_gives_back_after_it(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seeding reads the database before the settlement commits; the settlement notes its give-back
    only once the seeding is done, and gives the units back to the state it wrote. It used to fail
    the seeding (the give-back marked the unseeded state stale while it read)."""
    _one_expired(gated)
    # The settlement waits for this seeding however slowly the machine runs it (past its wait it would
    # leave the event to its next turn).
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", holds.SETTLE_WAIT_SECONDS)
    settled = threading.Thread(target=_settle, args=(factory, gated.gate))
    looks, waiting = gated.gate.seedings_under_way, threading.Event()

    def look(bases: Any) -> set[str]:
        busy = looks(bases)
        if busy:
            waiting.set()
        return busy

    monkeypatch.setattr(gated.gate, "seedings_under_way", look)

    def read_then_settle() -> Seed:
        with factory() as session:
            seed = seeds.seed_state(session, gated.event_id)
        settled.start()
        assert waiting.wait(30), "the settlement never found the seeding under way"
        return seed

    assert _seed(gated, factory, read_then_settle)
    settled.join(timeout=10)
    assert gated.gate.seeded(gated.base)
    assert gated.gate.counts(gated.base)[SKU] == 1 == reserved(factory)
    assert gated.reserve("c4", quantity=2).status_code == 201
    assert gated.reserve("c5", quantity=2).status_code == 201
    assert gated.reserve("c6").json()["code"] == "sold_out"


def test_a_seeding_waits_for_a_pending_give_back(gated: Gated, factory: sessionmaker[Session]) -> None:
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    note = gate.try_note_return(base)  # the settlement commits now
    assert note is not None

    def never(*_: Any) -> Seed:
        raise AssertionError("the database was read while a give-back was pending")

    assert not _seed(gated, factory, never)
    assert gate.give_back(note, [(SKU, "c1", 2)])  # nothing to give back: the state is unseeded
    assert gate.counts(base) == {}
    assert _seed(gated, factory)


def test_a_give_back_pending_too_long_is_left_behind(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its process died after noting it, or its commit is very slow: the seeding takes it out of the
    pending give-backs and goes on, but keeps its note (``test_gate_give_backs``), so that a give-back
    that comes after all marks the state stale, and the sweep does if none comes."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    note = gate.try_note_return(base)
    assert note is not None
    monkeypatch.setattr(gate_module, "PENDING_RETURN_SECONDS", 0)
    assert _seed(gated, factory)
    assert gate.client.scard(f"{base}:returns") == 0
    assert gate.client.hlen(gate.notes) == 1
    assert not gate.give_back(note, [(SKU, "c1", 2)])
    assert not gate.seeded(base)
    assert gate.client.hlen(gate.notes) == 0


def test_a_note_is_not_taken_while_the_event_is_being_seeded(gated: Gated) -> None:
    gate, base = gated.gate, gated.base
    gate.client.set(f"{base}:seeding", "another", ex=30)
    assert gate.try_note_return(base) is None
    assert gate.client.hlen(gate.notes) == 0


@pytest.mark.parametrize("taken_over", [True, False])
def test_a_seeding_that_lost_its_lock_writes_nothing(
    gated: Gated, factory: sessionmaker[Session], *, taken_over: bool
) -> None:
    """The database read outlasted the lock (``SEED_LOCK_SECONDS``), and another seeding may have taken
    it: the first one writes nothing, and leaves the other's lock alone."""
    assert gated.reserve("c1").status_code == 201
    gated.runtime.flush()
    gate, base = gated.gate, gated.base
    gate.forget(base)
    lock = f"{base}:seeding"

    def slow_read() -> Seed:
        with factory() as session:
            seed = seeds.seed_state(session, gated.event_id)
        gate.client.delete(lock)  # ran out
        if taken_over:
            gate.client.set(lock, "another", ex=30)
        return seed

    assert not _seed(gated, factory, slow_read)
    assert not gate.seeded(base)
    assert gate.client.get(lock) == (b"another" if taken_over else None)
    if taken_over:
        gate.client.delete(lock)
    assert _seed(gated, factory)
    assert gate.counts(base)[SKU] == 1
