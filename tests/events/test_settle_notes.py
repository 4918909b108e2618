"""A settlement's notes follow its commit's real outcome: taken back when the commit's flush fails
(no COMMIT was sent), kept when the COMMIT itself failed (the database may have committed)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.holds import settle_holds
from neigou.events.models import EventEmployee
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, reserved
from tests.events.conftest import Gated
from tests.events.test_gate_seeding import _one_expired


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
