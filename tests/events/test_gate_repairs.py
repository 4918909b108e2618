"""The gate's counters follow the database when Redis fails between them.

A settlement of holds notes in Redis, before it commits, the units it will give back; a note its
give-back never cleared (Redis failed the call, the process died after the commit) is swept by the next
settlement, which marks the event's state stale: the next reservation seeds it again from the database
once the stream holds none of the event's reservations. A give-back after the state was seeded again
meanwhile marks it stale too, instead of taking the units off twice. And a retry that took a second
reservation in Redis because the request id's record was lost gives its units back when the writer
finds the database refused it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import reservations
from neigou.events.gate import ReservationGate
from neigou.events.holds import settle_holds
from neigou.events.models import Reservation
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, reserved
from tests.events.clocks import Clock
from tests.events.conftest import Gated


@pytest.mark.parametrize("failure", ["redis_fails", "process_dies"])
def test_units_a_settlement_never_gave_back_come_back_after_the_next_one(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    for customer, units in (("c1", 2), ("c2", 2), ("c3", 1)):  # the settlement job stores the stream
        assert gated.reserve(customer, quantity=units).status_code == 201
    assert gated.reserve("c4").json()["code"] == "sold_out"
    jobs = gated.app.state.jobs

    def broken(self: ReservationGate, note: str, units: Any) -> bool:
        if failure == "redis_fails":
            raise redis.ConnectionError("Connection refused")
        return True  # the process died after the commit: nothing reached Redis

    with monkeypatch.context() as patched:
        patched.setattr(ReservationGate, "give_back", broken)
        later = utcnow() + timedelta(hours=1)
        assert jobs.run("events.settle_holds", key="settle-1", payload={}, at=later)
    assert reserved(factory) == 0
    # Redis still counts the expired units until the next settlement finds the note left behind.
    assert gated.reserve("c4").json()["code"] == "sold_out"
    monkeypatch.setattr(gate_module, "STALE_NOTE_SECONDS", 0)
    assert jobs.run("events.settle_holds", key="settle-2", payload={}, at=later)
    gate, base = gated.gate, gated.base
    assert not gate.seeded(base)
    again = gated.reserve("c4", quantity=2)
    assert again.status_code == 201, again.text
    assert gate.counts(base) == {SKU: 2, "EV-CUP": 0}
    assert gate.client.hlen(gate.notes) == 0


def test_a_give_back_after_the_state_was_seeded_again_marks_it_stale(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow()
    early = (now - timedelta(minutes=20)).isoformat()  # past its 15-minute hold now
    assert gated.reserve("c1", quantity=2, at=early).status_code == 201
    assert gated.reserve("c3", quantity=1).status_code == 201
    runtime, gate, base = gated.runtime, gated.gate, gated.base
    runtime.flush()
    give_back = ReservationGate.give_back

    def reseeded_first(self: ReservationGate, note: str, units: Any) -> bool:
        # Between the settlement's commit and its give-back, pending longer than a seeding waits for it,
        # the state is seeded again from a database that no longer holds c1's units (and a shopper
        # reserves on it).
        self.forget(base)
        monkeypatch.setattr(gate_module, "PENDING_RETURN_SECONDS", 0)
        assert gated.reserve("c4").status_code == 201
        return give_back(self, note, units)

    monkeypatch.setattr(ReservationGate, "give_back", reseeded_first)
    with factory() as session:
        assert settle_holds(session, at=now, gate=gate) == (0, 1)
        session.commit()
    monkeypatch.undo()
    assert not gate.seeded(base)  # not c1's units taken off a state that never held them
    runtime.flush()
    assert gated.reserve("c5").status_code == 201
    runtime.flush()
    assert reserved(factory) == 3
    assert gate.counts(base)[SKU] == 3


def test_a_retry_the_database_refuses_for_its_request_id_gives_its_units_back(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    first = gated.reserve("c1", request_id="order-9")
    assert first.status_code == 201, first.text
    runtime, gate, base = gated.runtime, gated.gate, gated.base
    runtime.flush()
    gate.client.delete(f"{base}:req")  # the request id's record lost
    lost = gated.reserve("c1", request_id="order-9")
    assert lost.status_code == 201, lost.text
    assert lost.json()["id"] != first.json()["id"]  # a second reservation taken in Redis
    assert gate.counts(base)[SKU] == 2
    runtime.flush()
    assert gate.counts(base)[SKU] == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Reservation)) == 1
    assert reserved(factory) == 1
    retried = gated.reserve("c1", request_id="order-9")
    assert (retried.status_code, retried.json()) == (201, first.json())
    # A second delivery of the refused entry gives nothing back again.
    units = (SKU, gate.prior(base, "order-9")[0].customer, 1)  # type: ignore[union-attr]
    held = gate.client.hget(f"{base}:req", "order-9").decode()  # type: ignore[union-attr]
    again = gate.give_back_dropped(
        base, str(lost.json()["id"]), request_id="order-9", stored=held, units=units
    )
    assert not again
    assert gate.counts(base)[SKU] == 1


def test_a_refused_retrys_give_back_that_redis_fails_comes_back_with_the_batch(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis times out when the writer gives a refused retry's units back after its batch committed: the
    batch is not acknowledged, so its next delivery gives them back (once), instead of leaving them
    counted for good and the request id pointing at a reservation that does not exist."""
    first = gated.reserve("c1", request_id="order-9")
    assert first.status_code == 201, first.text
    runtime, gate, base = gated.runtime, gated.gate, gated.base
    runtime.flush()
    gate.client.delete(f"{base}:req")  # the request id's record lost
    assert gated.reserve("c1", request_id="order-9").status_code == 201
    real = ReservationGate.give_back_dropped

    def times_out(self: ReservationGate, *args: Any, **kwargs: Any) -> bool:
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(ReservationGate, "give_back_dropped", times_out)
    with pytest.raises(redis.TimeoutError):
        runtime.flush()
    assert gate.counts(base)[SKU] == 2
    monkeypatch.setattr(ReservationGate, "give_back_dropped", real)
    monkeypatch.setattr(runtime.writer, "claim_idle_ms", 0)  # the batch comes back at once
    runtime.flush()
    assert gate.counts(base)[SKU] == 1 == reserved(factory)
    assert gate.client.xlen(gate.stream) == 0
    retried = gated.reserve("c1", request_id="order-9")
    assert (retried.status_code, retried.json()) == (201, first.json())


def test_a_reservation_while_the_gate_is_rebuilt_answers_503_to_retry(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """The state is gone while the stream still holds the event's reservations (the writer has not
    stored them yet): the gate cannot be seeded from the database, and a shopper who waited past the
    reservation's wait is told to retry (503 ``event_busy``, Retry-After), not that the event is over."""
    assert gated.reserve("c1").status_code == 201  # nothing stores the stream until the test flushes it
    runtime, gate, base = gated.runtime, gated.gate, gated.base
    gate.forget(base)
    busy = gated.reserve("c2")
    assert (busy.status_code, busy.json()["code"]) == (503, "event_busy"), busy.text
    assert busy.headers["Retry-After"] == "1"
    assert busy.headers["content-type"].startswith("application/problem+json")
    runtime.flush()
    assert gated.reserve("c2").status_code == 201
    runtime.flush()
    assert reserved(factory) == 2


def test_the_wait_for_a_rebuilt_gate_is_bounded_by_the_clock(
    gated: Gated, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seeding that reads a long stream each time it tries (here 0.5 s a try, on the reservation's
    clock: ``clocks.Clock``) does not hold the shopper forty tries long: about two seconds, then 503
    ``event_busy``."""
    assert gated.reserve("c1").status_code == 201
    gated.gate.forget(gated.base)
    clock = Clock()
    tries: list[float] = []

    def slow_scan(self: ReservationGate, event: int) -> bool:
        tries.append(clock.now)
        clock.sleep(0.5)
        return True

    monkeypatch.setattr(ReservationGate, "in_flight", slow_scan)
    monkeypatch.setattr(reservations, "time", clock)
    busy = gated.reserve("c2")
    assert (busy.status_code, busy.json()["code"]) == (503, "event_busy")
    assert 2 <= len(tries) <= 5  # 2 s by the clock at 0.5 s a try
    assert clock.now < reservations.SEED_WAIT_SECONDS + 1
