"""While a settlement waits for seedings under way, every event waits only for its own: an event nobody
seeds is neither claimed nor noted meanwhile, an event idle when the settlement started is waited for
from when its own seeding starts, and no transaction stays open through the wait (on PostgreSQL its
share locks queued a migration's ``ALTER TABLE``, and every shopper's read behind it). The settlement's
clock is ``clocks.Clock``: the seedings start and end, and the probes run, at instants of its wait."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate_claims, holds
from neigou.events.holds import settle_holds
from neigou.kit.clock import utcnow
from tests.events.builders import SKU
from tests.events.clocks import Clock
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


def _settle(factory: sessionmaker[Session], gated: Gated) -> tuple[int, int]:
    with factory() as settlement:
        out = settle_holds(settlement, at=utcnow(), gate=gated.gate)
        settlement.commit()
    return out


def _left_out(gated: Gated, base: str) -> None:
    """Mark the event as a settlement that found it being seeded leaves it (``RETURN_NOTE_SCRIPT``)."""
    gated.gate.client.set(f"{base}:settle-deferred", "1", ex=600)


def _probe(engine: Engine) -> None:
    """No transaction of the settlement holds the events' tables: a migration's ``ALTER`` goes through."""
    with engine.connect() as probe:
        assert probe.execute(_IDLE_HOLDERS).scalar() == 0
        probe.execute(text("SET lock_timeout = '1s'"))
        probe.execute(text("ALTER TABLE events ADD COLUMN probe integer"))  # a migration: not queued
        probe.rollback()


def test_the_timing_of_claims_outlives_the_wait_that_outlives_a_seeding() -> None:
    assert gate_claims.RETURN_CLAIM_SECONDS > holds.CLAIMED_WAIT_SECONDS > gate_claims.SEED_LOCK_SECONDS


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
    gate.client.set(f"{other_base}:seeding", "the other event's slow seeding", ex=30)
    seeded: list[bool] = []

    def step(now: float) -> None:
        if not seeded:
            seeded.append(_seed(gated, factory))  # while the settlement waits for the other event
        if now >= 2.0:
            gate.client.delete(f"{other_base}:seeding")

    monkeypatch.setattr(holds, "time", Clock(step))
    assert _settle(factory, gated) == (0, 2)  # both settled at this turn: the other one claimed, waited for
    assert seeded == [True]
    # Seeded meanwhile, then given back.
    assert gate.counts(base)[SKU] == 1 == _reserved_in(factory, gated.event_id)
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
    gate.client.set(f"{other_base}:seeding", "the other event's slow seeding", ex=30)
    monkeypatch.setattr(holds, "RETURN_NOTE_WAIT_SECONDS", 1.0)
    started: list[bool] = []

    def step(now: float) -> None:  # idle until 1.5 s, then seeded until 2.3 s; the other one until 2 s
        if now >= 1.5 and not started:
            started.append(True)
            gate.client.set(f"{base}:seeding", "this event's seeding", ex=30)
        if now >= 2.0:
            gate.client.delete(f"{other_base}:seeding")
        if now >= 2.3:
            gate.client.delete(f"{base}:seeding")

    monkeypatch.setattr(holds, "time", Clock(step))
    assert _settle(factory, gated) == (0, 2)
    assert not gate.client.exists(f"{base}:settle-deferred", f"{other_base}:settle-deferred")
    assert _reserved_in(factory, gated.event_id) == 1
    assert _reserved_in(factory, other) == 0


@pytest.mark.postgres_only(reason="PostgreSQL's locks and pg_stat_activity")
def test_no_transaction_stays_open_while_the_settlement_waits(
    gated: Gated, factory: sessionmaker[Session], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settlement's read of the events to settle began its transaction before the wait: idle in it
    for up to thirty-one seconds, it held share locks on the events' tables."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    gate.client.set(f"{base}:seeding", "a slow seeding", ex=30)
    probed: list[bool] = []

    def step(now: float) -> None:
        if not probed:
            _probe(engine)  # while the settlement waits for the seeding
            probed.append(True)
        if now >= 2.5:
            gate.client.delete(f"{base}:seeding")

    monkeypatch.setattr(holds, "time", Clock(step))
    assert _settle(factory, gated) == (0, 1)
    assert probed == [True]
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")


def test_the_settlement_job_waits_for_a_left_out_event_being_seeded_and_settles_it(
    gated: Gated, factory: sessionmaker[Session], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's path through the minute's job: the event left out before is claimed while its seeding
    ends, then settled; on PostgreSQL no transaction of the job stays open meanwhile."""
    _one_expired(gated)
    gate, base = gated.gate, gated.base
    _left_out(gated, base)
    gate.client.set(f"{base}:seeding", "a slow seeding", ex=30)
    seen: list[Any] = []

    def step(now: float) -> None:
        if not seen:
            seen.append(gate.client.exists(f"{base}:settle-claim"))  # claimed while being seeded
            seen.append(_seed(gated, factory))  # the next seeding waits for the give-back
            if engine.dialect.name == "postgresql":
                _probe(engine)
        if now >= 1.5:
            gate.client.delete(f"{base}:seeding")

    monkeypatch.setattr(holds, "time", Clock(step))
    jobs = gated.app.state.jobs
    assert jobs.run("events.settle_holds", key="settle-w", payload={}, at=utcnow())
    assert seen == [1, False]
    assert _reserved_in(factory, gated.event_id) == 1  # c1's expired hold given back at this turn
    assert not gate.client.exists(f"{base}:settle-claim", f"{base}:settle-deferred")
    assert gate.client.hlen(gate.notes) == 0
    assert _seed(gated, factory)
