"""A settlement turn waits within one bound as a whole, never leaves an event out twice in a row for a
seeding that starts between its last look and its note, and ends the deferral of an event left out
before once nothing of it is left to settle. The settlement's clock is ``clocks.Clock``: time moves only
when it sleeps, so nothing here depends on the machine's speed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import holds
from neigou.events.models import Reservation, ReservationStatus
from tests.events.builders import reserved
from tests.events.clocks import Clock
from tests.events.conftest import Gated
from tests.events.test_gate_give_backs import _reserved_in, _second_event
from tests.events.test_gate_seeding import _one_expired, _seed
from tests.events.test_settle_waits import _settle


def _left_out(gated: Gated, base: str) -> None:
    """Leave the event out as a settlement that found it being seeded does (``RETURN_NOTE_SCRIPT``)."""
    gated.gate.client.set(f"{base}:seeding", "a seeding", ex=30)
    assert gated.gate.try_note_return(base) is None
    gated.gate.client.delete(f"{base}:seeding")


def test_the_timings_keep_their_order() -> None:
    assert 60 > holds.SETTLE_WAIT_SECONDS >= holds.CLAIMED_WAIT_SECONDS > holds.RETURN_NOTE_WAIT_SECONDS


def test_the_whole_turn_waits_within_one_bound(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other event is being seeded from the start; this one's seeding starts late in that wait and
    never ends. Each event used to be waited for its own two seconds from when it was found, so events
    whose seedings start one after another kept the turn waiting without a bound (here until 2.9 s);
    now the turn stops waiting at its bound, and this event is left to the next turn like any other
    event left out."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    other, other_base = _second_event(gated)
    gate.client.set(f"{other_base}:seeding", "the other event's seeding", ex=30)

    def step(now: float) -> None:
        if now >= 0.9 and not gate.client.exists(f"{base}:seeding"):
            gate.client.set(f"{base}:seeding", "this event's endless seeding", ex=30)
        if now >= 1.0:
            gate.client.delete(f"{other_base}:seeding")

    clock = Clock(step)
    monkeypatch.setattr(holds, "time", clock)
    monkeypatch.setattr(holds, "SETTLE_WAIT_SECONDS", 1.5, raising=False)
    assert _settle(factory, gated) == (0, 1)  # the other event's hold; this one's at the next turn
    assert clock.now <= 1.5
    assert gate.client.exists(f"{base}:settle-deferred")
    assert not gate.client.exists(f"{other_base}:settle-deferred", f"{base}:settle-claim")
    assert _reserved_in(factory, other) == 0
    assert reserved(factory) == 3


def test_a_claimed_event_is_waited_for_only_within_the_turns_bound(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event left out before and being seeded is claimed and waited for, but not past the bound:
    left out again, its claim goes and its shoppers' seedings go on."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    gate.client.set(f"{base}:seeding", "an endless seeding", ex=30)
    clock = Clock()
    monkeypatch.setattr(holds, "time", clock)
    monkeypatch.setattr(holds, "SETTLE_WAIT_SECONDS", 3.0, raising=False)
    assert _settle(factory, gated) == (0, 0)
    assert clock.now <= 3.0
    assert gate.client.exists(f"{base}:settle-deferred")
    assert not gate.client.exists(f"{base}:settle-claim")


def test_a_seeding_that_starts_after_the_last_look_does_not_leave_an_event_out_twice(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Left out at the turn before, the event is idle at this turn's look, and a seeding takes its lock
    right after that look, before the note. The note used to find the lock held and leave the event out
    again; now the look claims the event in the same script that looks (no seeding starts after it), or,
    when the seeding started before that script, waits for that seeding as the claimed event's last."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    looks = gate.seedings_under_way
    started: list[bool] = []

    def look_then_seed(bases: Any) -> set[str]:
        seen = looks(bases)
        if not started:
            started.append(True)
            gate.client.set(f"{base}:seeding", "a seeding right after the look", ex=30)
        return seen

    monkeypatch.setattr(gate, "seedings_under_way", look_then_seed)

    def step(now: float) -> None:  # the seeding ends at 0.5 s
        if now >= 0.5:
            gate.client.delete(f"{base}:seeding")

    monkeypatch.setattr(holds, "time", Clock(step))
    assert _settle(factory, gated) == (0, 1)  # settled at this turn, the one after it was left out
    assert reserved(factory) == 1
    assert not gate.client.exists(f"{base}:settle-deferred", f"{base}:settle-claim")
    assert gate.client.hlen(gate.notes) == 0
    assert _seed(gated, factory)


def test_a_seeding_after_the_last_look_waits_for_the_note(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event left out before is idle at the last look: claimed there, so a seeding that tries to
    start before the note waits (it would have left the event out again)."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    tried: list[bool] = []
    note = gate.try_note_return

    def seed_then_note(noted: str) -> str | None:
        tried.append(_seed(gated, factory))
        return note(noted)

    monkeypatch.setattr(gate, "try_note_return", seed_then_note)
    monkeypatch.setattr(holds, "time", Clock())
    assert _settle(factory, gated) == (0, 1)
    assert tried == [False]  # held back by the claim until the give-back
    assert not gate.client.exists(f"{base}:settle-deferred", f"{base}:settle-claim")
    assert _seed(gated, factory)


def test_a_deferral_ends_once_nothing_of_the_event_is_left_to_settle(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its holds settled elsewhere meanwhile (here paid), the event is not among this turn's. Its mark
    used to stand for ten minutes, so a turn in that time claimed the event, holding its seedings back
    for up to thirty-one seconds, though no turn had left it out."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    _, other_base = _second_event(gated)
    _left_out(gated, other_base)
    with factory() as session:
        session.execute(
            update(Reservation)
            .where(Reservation.event_id == gated.event_id)
            .values(status=ReservationStatus.PAID)
        )
        session.commit()
    monkeypatch.setattr(holds, "time", Clock())
    assert _settle(factory, gated) == (0, 1)  # the other event's hold
    assert not gate.client.exists(f"{base}:settle-deferred", f"{other_base}:settle-deferred")
    assert gate.client.scard(gate.deferrals) == 0
    gate.client.set(f"{base}:seeding", "a seeding", ex=30)
    assert gate.claim_returns([base]) == set()  # not claimed: nothing is deferred any more
