"""A settlement's give-back is never lost: a seeding that leaves a slow give-back behind keeps its note
for the sweep, a settlement skips an event being seeded instead of failing every event, a rolled-back
settlement takes its notes back, and a note dated ahead of Redis's clock (the clock stepped back)
counts as old."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import holds
from neigou.events.holds import settle_holds
from neigou.events.models import EventItem
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, add_employees, create_event, gate_of, reserve, reserved, whitelist
from tests.events.conftest import Gated
from tests.events.test_gate_seeding import _one_expired, _seed
from tests.factories import create_program


def _lost(*_: Any, **__: Any) -> bool:
    raise redis.ConnectionError("the give-back never reached Redis")  # or the process died here


def test_a_give_back_left_behind_and_lost_is_swept(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settlement's commit is slow: a seeding leaves its give-back behind and reads the database
    before the commit (c1's two units still held). The give-back then fails: the note the seeding kept
    lets the sweep mark the state stale. The seeding used to delete the note too, and Redis counted c1's
    units until the event ended (shoppers refused ``sold_out`` for free stock)."""
    _one_expired(gated)  # c1: 2 expired units, c3: 1 held; stock 5
    gate, base = gated.gate, gated.base
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)  # noted, not committed
        with monkeypatch.context() as slow:
            slow.setattr(gate_module, "PENDING_RETURN_SECONDS", 0)
            assert _seed(gated, factory)  # reads c1's units as held
        assert gate.counts(base)[SKU] == 3
        monkeypatch.setattr(gate, "give_back", _lost)
        settlement.commit()
    assert gate.sweep_notes(older_than=-1) == [base]
    assert not gate.seeded(base)
    assert gated.reserve("c4", quantity=2).status_code == 201  # seeded again with c1's units free
    assert gated.reserve("c5", quantity=2).status_code == 201
    assert gate.counts(base)[SKU] == 5
    gated.runtime.flush()
    assert reserved(factory) == 5


def test_a_give_back_left_behind_marks_the_state_it_was_not_noted_in_stale(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        with monkeypatch.context() as slow:
            slow.setattr(gate_module, "PENDING_RETURN_SECONDS", 0)
            assert _seed(gated, factory)
        settlement.commit()  # its give-back finds the state seeded in another generation
    assert not gate.seeded(base)
    assert gate.client.hlen(gate.notes) == 0
    assert gated.reserve("c4", quantity=2).status_code == 201
    assert gate.counts(base)[SKU] == 3


def _second_event(gated: Gated) -> tuple[int, str]:
    """Another live event, with one hold of c9 past its hold time, all stored; its state unseeded."""
    program = create_program(gated.api, gated.operator, code="second")
    other = create_event(gated.api, gated.operator, program["id"])
    add_employees(gated.api, gated.operator, other, whitelist())
    early = (utcnow() - timedelta(minutes=20)).isoformat()
    assert reserve(gated.api, gated.operator, other, "c9", quantity=2, at=early).status_code == 201
    gated.runtime.flush()
    _, _, base = gate_of(gated.app, other)
    gated.gate.forget(base)
    return other, base


def _reserved_in(factory: sessionmaker[Session], event_id: int) -> int | None:
    with factory() as session:
        return session.scalar(
            select(EventItem.reserved).where(EventItem.event_id == event_id, EventItem.sku == SKU)
        )


def test_a_settlement_leaves_an_event_being_seeded_for_its_next_turn(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to fail whole (``SeedingUnderWay``): no event settled, and the notes taken for the
    others stayed, holding their seeding back and then marking their right states stale."""
    early = (utcnow() - timedelta(minutes=20)).isoformat()
    assert gated.reserve("c1", quantity=2, at=early).status_code == 201
    gated.runtime.flush()
    gate, base = gated.gate, gated.base
    other, other_base = _second_event(gated)
    gate.client.set(f"{other_base}:seeding", "a long seeding", ex=30)
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 0.1)
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)  # c1's hold only
        settlement.commit()
    assert gate.seeded(base)
    assert gate.counts(base)[SKU] == 0 == _reserved_in(factory, gated.event_id)
    assert gate.client.hlen(gate.notes) == 0
    assert _reserved_in(factory, other) == 2  # c9's hold waits for the seeding to be done
    gate.client.delete(f"{other_base}:seeding")
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        settlement.commit()
    assert _reserved_in(factory, other) == 0
    assert gate.client.hlen(gate.notes) == 0
    assert gate.sweep_notes(older_than=-1) == []
    assert gate.seeded(base)


def test_a_rolled_back_settlement_takes_its_notes_back(gated: Gated, factory: sessionmaker[Session]) -> None:
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        assert gate.client.hlen(gate.notes) == 1
        settlement.rollback()
    assert gate.client.hlen(gate.notes) == 0
    assert gate.client.scard(f"{base}:returns") == 0
    assert _seed(gated, factory)  # no give-back pending holds it back
    assert gate.counts(base)[SKU] == 3 == reserved(factory)
    assert gate.sweep_notes(older_than=-1) == []
    assert gate.seeded(base)


def test_a_settlement_whose_commit_failed_leaves_its_notes_to_the_sweep(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """The database may have committed all the same (the connection lost on the way): taking the notes
    back could leave the expired units counted in Redis for good."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    assert gated.reserve("c4").status_code == 201  # seeds the state
    gated.runtime.flush()

    def lost(_connection: Any) -> None:
        raise ConnectionError("the connection was lost while committing")

    with factory() as settlement:
        assert settle_holds(settlement, at=utcnow(), gate=gate) == (0, 1)
        event.listen(settlement.connection(), "commit", lost)
        with pytest.raises(ConnectionError):
            settlement.commit()
        settlement.rollback()
    assert gate.client.hlen(gate.notes) == 1
    assert gate.sweep_notes(older_than=-1) == [base]
    assert not gate.seeded(base)


def _dated(gated: Gated, note: str, seconds_ahead: int) -> None:
    """The note as timed by Redis's clock before it stepped back by more than ``seconds_ahead``."""
    client = gated.gate.client
    generation, _, noted = client.hget(gated.gate.notes, note).decode().partition("|")  # type: ignore[union-attr]
    client.hset(gated.gate.notes, note, f"{generation}|{int(noted) + seconds_ahead}")


def test_a_give_back_noted_before_the_clock_stepped_back_holds_no_seeding(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    """It used to look fresh, and held the event's seeding back for as long as the step."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    note = gate.try_note_return(base)
    assert note is not None
    _dated(gated, note, 3600)
    assert _seed(gated, factory)
    assert gate.client.scard(f"{base}:returns") == 0
    assert gate.client.hlen(gate.notes) == 1  # kept for its give-back or the sweep
    assert gate.sweep_notes() == [base]


def test_a_note_within_the_clock_slack_is_still_fresh(gated: Gated, factory: sessionmaker[Session]) -> None:
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    note = gate.try_note_return(base)
    assert note is not None
    _dated(gated, note, gate_module.NOTE_CLOCK_SLACK_SECONDS - 1)
    assert not _seed(gated, factory)  # the give-back is pending: the seeding waits
    assert gate.sweep_notes() == []
    assert gate.give_back(note, [(SKU, "c1", 2)])
    assert _seed(gated, factory)


def test_a_settlement_job_that_fails_takes_its_notes_back(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rolled back while the job's Redis client is still open."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the settlement failed after noting its give-backs")

    monkeypatch.setattr(holds, "after_commit", broken)
    with pytest.raises(RuntimeError):
        gated.app.state.jobs.run("events.settle_holds", key="settle-1", payload={}, at=utcnow())
    assert gate.client.hlen(gate.notes) == 0
    assert gate.client.scard(f"{base}:returns") == 0
    assert reserved(factory) == 3  # nothing expired
