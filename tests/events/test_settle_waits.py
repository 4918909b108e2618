"""While a settlement waits for seedings under way, every event waits only for its own: an event nobody
seeds is neither claimed nor noted meanwhile, an event idle when the settlement started is waited for
from when its own seeding starts, and no transaction stays open through the wait (on PostgreSQL its
share locks queued a migration's ``ALTER TABLE``, and every shopper's read behind it)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import holds
from neigou.events.holds import settle_holds
from neigou.kit.clock import utcnow
from tests.events.builders import SKU, reserved
from tests.events.conftest import Gated
from tests.events.test_gate_give_backs import _reserved_in, _second_event
from tests.events.test_gate_seeding import _one_expired, _seed

# Sessions of the settlement idle in a transaction that holds a lock on the events' tables.
_IDLE_HOLDERS = text(
    "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
    "WHERE a.state = 'idle in transaction' AND l.relation IS NOT NULL "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.relation::regclass::text IN ('event_reservations', 'events')"
)


def _settling(factory: sessionmaker[Session], gated: Gated, out: list[tuple[int, int]]) -> threading.Thread:
    def settle() -> None:
        with factory() as settlement:
            out.append(settle_holds(settlement, at=utcnow(), gate=gated.gate))
            settlement.commit()

    thread = threading.Thread(target=settle)
    thread.start()
    return thread


def _left_out(gated: Gated, base: str) -> None:
    """Mark the event as a settlement that found it being seeded leaves it (``RETURN_NOTE_SCRIPT``)."""
    gated.gate.client.set(f"{base}:settle-deferred", "1", ex=600)


def test_the_timing_of_claims_outlives_the_wait_that_outlives_a_seeding() -> None:
    assert gate_module.RETURN_CLAIM_SECONDS > holds.CLAIMED_WAIT_SECONDS > gate_module.SEED_LOCK_SECONDS


def test_an_event_nobody_seeds_is_not_held_back_by_another_events_claimed_seeding(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both events were left out before; only the other one is being seeded. Every left-out event used to
    be claimed before the wait, so this one's shoppers were refused (``event_busy``) until the other
    one's seeding ended, up to thirty-one seconds."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    other, other_base = _second_event(gated)
    _left_out(gated, base)
    _left_out(gated, other_base)
    gate.client.set(f"{other_base}:seeding", "the other event's slow seeding", px=2000)
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 0.2)
    out: list[tuple[int, int]] = []
    started = time.monotonic()
    settlement = _settling(factory, gated, out)
    time.sleep(0.2)
    while not _seed(gated, factory):
        assert time.monotonic() - started < 1.0, "held back by the other event's seeding"
        time.sleep(0.05)
    settlement.join()
    assert out == [(0, 2)]  # both settled at this turn: the other one claimed, waited for
    assert gate.counts(base)[SKU] == 1 == reserved(factory)  # seeded meanwhile, then given back
    assert _reserved_in(factory, other) == 0
    for key in (base, other_base):
        assert not gate.client.exists(f"{key}:settle-claim", f"{key}:settle-deferred")
    assert gate.client.hlen(gate.notes) == 0


def test_an_event_idle_when_the_settlement_started_is_waited_for_from_its_own_seeding(
    gated: Gated, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other event, left out before, is being seeded; this one is idle, and its seeding starts while
    the settlement waits for the other one. Its wait used to be counted from the settlement's start:
    found still being seeded when the other's seeding ended, it was left out."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    other, other_base = _second_event(gated)
    _left_out(gated, other_base)
    gate.client.set(f"{other_base}:seeding", "the other event's slow seeding", px=2000)
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 1.0)
    out: list[tuple[int, int]] = []
    settlement = _settling(factory, gated, out)
    time.sleep(1.5)  # idle for 1.5 s, then a seeding of 0.8 s, ending after the other one's
    gate.client.set(f"{base}:seeding", "this event's seeding", px=800)
    settlement.join()
    assert out == [(0, 2)]
    assert not gate.client.exists(f"{base}:settle-deferred", f"{other_base}:settle-deferred")
    assert reserved(factory) == 1
    assert _reserved_in(factory, other) == 0


@pytest.mark.postgres_only(reason="PostgreSQL's locks and pg_stat_activity")
def test_no_transaction_stays_open_while_the_settlement_waits(
    gated: Gated, factory: sessionmaker[Session], engine: Engine
) -> None:
    """The settlement's read of the events to settle began its transaction before the wait: idle in it
    for up to thirty-one seconds, it held share locks on the events' tables."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    gate.client.set(f"{base}:seeding", "a slow seeding", px=2500)
    out: list[tuple[int, int]] = []
    settlement = _settling(factory, gated, out)
    try:
        time.sleep(0.5)
        with engine.connect() as probe:
            assert probe.execute(_IDLE_HOLDERS).scalar() == 0
            probe.execute(text("SET lock_timeout = '1s'"))
            probe.execute(text("ALTER TABLE events ADD COLUMN probe integer"))  # a migration: not queued
            probe.rollback()
        assert settlement.is_alive()  # still waiting for the seeding
    finally:
        settlement.join()
    assert out == [(0, 1)]
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")


def test_the_settlement_job_waits_for_a_left_out_event_being_seeded_and_settles_it(
    gated: Gated, factory: sessionmaker[Session], engine: Engine
) -> None:
    """The claim's path through the minute's job: the event left out before is claimed while its seeding
    ends, then settled; on PostgreSQL no transaction of the job stays open meanwhile."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    gate.client.set(f"{base}:seeding", "a slow seeding", px=1500)
    jobs = gated.app.state.jobs
    ran: list[bool] = []
    job = threading.Thread(
        target=lambda: ran.append(jobs.run("events.settle_holds", key="settle-w", payload={}, at=utcnow()))
    )
    job.start()
    try:
        time.sleep(0.5)
        assert gate.client.exists(f"{base}:settle-claim")  # claimed while being seeded
        assert not _seed(gated, factory)  # the next seeding waits for the give-back
        if engine.dialect.name == "postgresql":
            with engine.connect() as probe:
                assert probe.execute(_IDLE_HOLDERS).scalar() == 0
    finally:
        job.join()
    assert ran == [True]
    assert reserved(factory) == 1  # c1's expired hold given back at this turn
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")
    assert gate.client.hlen(gate.notes) == 0
    assert _seed(gated, factory)
