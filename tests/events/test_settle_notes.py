"""A settlement holds an event's seeding back only for its own give-back, settles an event it left out
at its next turn however often that event is seeded, and its notes follow its commit's real outcome:
taken back when the commit's flush fails (no COMMIT was sent), kept when the COMMIT itself failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import holds
from neigou.events.gate_values import Seed
from neigou.events.holds import settle_holds
from neigou.events.models import EventEmployee
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, reserved
from tests.events.clocks import Clock
from tests.events.conftest import Gated
from tests.events.test_gate_give_backs import _reserved_in, _second_event
from tests.events.test_gate_seeding import _one_expired, _seed


def _while_waiting(monkeypatch: pytest.MonkeyPatch, step: Callable[[], None]) -> None:
    """Run ``step`` each time the settlement sleeps while it waits for seedings (``clocks.Clock``: its
    time moves only then)."""
    monkeypatch.setattr(holds, "time", Clock(lambda _now: step()))


def test_a_seeding_is_not_held_while_the_settlement_waits_for_another_event(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another event is being seeded: the settlement waits for it, and meanwhile this event, unseeded
    with a hold past its time, is seeded. Its give-back used to be noted before that wait, holding its
    seeding back (``event_busy``) for the whole wait and the settlement's updates."""
    _one_expired(gated)  # c1: 2 expired units, c3: 1 held; stock 5; unseeded
    gate, base = gated.gate, gated.base
    other, other_base = _second_event(gated)
    gate.client.set(f"{other_base}:seeding", "a long seeding", ex=30)
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 0.2)
    seeded: list[bool] = []

    def seed_once() -> None:
        if not seeded:
            seeded.append(_seed(gated, factory))

    _while_waiting(monkeypatch, seed_once)
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)  # c1's hold; the other waits
        settlement.commit()
    assert seeded == [True]
    assert gate.seeded(base)
    assert gate.counts(base)[SKU] == 1 == _reserved_in(factory, gated.event_id)  # given back after
    assert _reserved_in(factory, other) == 2
    assert gate.client.hlen(gate.notes) == 0


class _Seedings:
    """Seedings of the event that follow one another: each holds the lock until the next one starts."""

    def __init__(self, gated: Gated, factory: sessionmaker[Session]) -> None:
        self.gated, self.factory = gated, factory
        self.release: threading.Event | None = None
        self.thread: threading.Thread | None = None
        self.refused = 0

    def next(self) -> None:
        if self.release is not None and self.thread is not None:
            self.release.set()
            self.thread.join(timeout=10)
        release, reading, done = threading.Event(), threading.Event(), threading.Event()

        def read() -> Seed:
            reading.set()
            release.wait(timeout=10)
            raise RuntimeError("this seeding fails; the next one is under way")

        def run() -> None:
            try:
                _seed(self.gated, self.factory, read)
            except RuntimeError:
                pass
            finally:
                done.set()

        self.release, self.thread = release, threading.Thread(target=run)
        self.thread.start()
        while not (reading.is_set() or done.is_set()):
            time.sleep(0.001)
        if not reading.is_set():
            self.refused += 1  # the lock was not taken

    def stop(self) -> None:
        if self.release is not None and self.thread is not None:
            self.release.set()
            self.thread.join(timeout=10)


def test_an_event_seeded_over_and_over_settles_at_the_turn_after_it_was_left_out(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its seedings kept taking the lock: the settlement found one under way at every turn and left
    the event out every minute, for ever (its expired units never given back)."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 0.2)
    seedings = _Seedings(gated, factory)
    _while_waiting(monkeypatch, seedings.next)
    seedings.next()
    try:
        with factory() as settlement:
            assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 0)  # left out
            settlement.commit()
        assert seedings.refused == 0
        with factory() as settlement:
            assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)  # claimed while being seeded
            settlement.commit()
    finally:
        seedings.stop()
    assert seedings.refused >= 1  # the seeding that came after the claim waited
    assert reserved(factory) == 1
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")
    assert gate.client.hlen(gate.notes) == 0
    assert gated.reserve("c4", quantity=2).status_code == 201  # seeded with c1's units free
    assert gate.counts(base)[SKU] == 3


def test_a_claim_holds_a_seeding_back_only_until_the_give_back_is_noted(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    assert gate.claim_returns([base]) == set()  # never left out: nothing claimed
    gate.client.set(f"{base}:seeding", "a seeding", ex=30)
    assert gate.try_note_return(base) is None  # left out: marked deferred
    assert gate.claim_returns([base]) == {base}  # left out and being seeded: claimed
    gate.client.delete(f"{base}:seeding")
    assert not _seed(gated, factory)  # claimed: the next seeding waits
    assert gate.claim_returns([base]) == {base}  # renewed, the seeding over
    gate.client.set(f"{base}:seeding", "an older process's seeding", ex=30)
    assert gate.try_note_return(base) is None  # left out again: its claim goes, its mark stays
    assert not gate.client.exists(f"{base}:settle-claim")
    gate.client.delete(f"{base}:seeding")
    assert gate.claim_returns([base]) == set()  # nobody seeds it: not claimed, its seedings go on
    note = gate.try_note_return(base)
    assert note is not None
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")
    assert gate.give_back(note, [(SKU, "c1", 2)])
    assert _seed(gated, factory)


def test_a_commit_whose_flush_failed_takes_the_notes_back(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """No COMMIT was sent: the database rolled back, nothing expired. The notes used to stay, holding the
    event's seeding back a few seconds and then making the sweep mark its right state stale."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    assert gated.reserve("c4").status_code == 201  # seeds the state
    gated.runtime.flush()
    generation = gate.client.get(f"{base}:gen")
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        assert gate.client.hlen(gate.notes) == 1
        settlement.add(EventEmployee(event_id=gated.event_id, employee_no="E1", name="重复", invitations=0))
        with pytest.raises(IntegrityError):
            settlement.commit()
        settlement.rollback()
    assert gate.client.hlen(gate.notes) == 0
    assert gate.client.scard(f"{base}:returns") == 0
    assert gate.sweep_notes(older_than=-1) == []
    assert gate.seeded(base)
    assert gate.client.get(f"{base}:gen") == generation
    assert gate.counts(base)[SKU] == 4 == reserved(factory)  # c1's hold did not expire


def test_a_commit_that_failed_after_its_flush_keeps_the_notes(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """The commit's flush went through and the COMMIT was sent, then the connection was lost: the
    database may have committed, so the notes stay for the sweep."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base

    def lost(_connection: Any) -> None:
        raise ConnectionError("the connection was lost while committing")

    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        settlement.add(EventEmployee(event_id=gated.event_id, employee_no="E9", name="新", invitations=0))
        event.listen(settlement.connection(), "commit", lost)
        with pytest.raises(ConnectionError):
            settlement.commit()
        settlement.rollback()
    assert gate.client.hlen(gate.notes) == 1
    assert gate.sweep_notes(older_than=-1) == [base]
