"""The claim path's copy of a coupon's terms and savepoints (``kit.commit_hooks``): an edit is forgotten
when the outermost transaction commits, never when a savepoint is released (the database has not
committed yet: a claim elsewhere would read and keep the old row) and never lost because an unrelated
savepoint rolled back (the commit would then keep the stale copy for ``TERMS_TTL_SECONDS``); an edit
made in a savepoint that rolls back, or in a transaction that rolls back, forgets nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.offer_schemas import CouponUpdate
from tests.conftest import TEST_ACTOR
from tests.links.test_terms_cache import _coupon


@pytest.fixture
def gate(redis_client: redis.Redis) -> Iterator[StockGate]:
    namespace = f"neigou-test:{uuid.uuid4().hex[:8]}"
    stock = StockGate(redis_client, namespace)
    yield stock
    stock.close()
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)


def _pause(session: Session, coupon_id: int) -> None:
    offer_edit.update_coupon(
        session, coupon_id=coupon_id, data=CouponUpdate(status="paused"), actor=TEST_ACTOR
    )


def _spy(monkeypatch: pytest.MonkeyPatch, gate: StockGate) -> list[set[int]]:
    """Every ``forget`` the gate is told, in order (and still done)."""
    forgotten: list[set[int]] = []
    forget = gate.forget

    def record(coupon_ids: set[int]) -> None:
        forgotten.append(set(coupon_ids))
        forget(coupon_ids)

    monkeypatch.setattr(gate, "forget", record)
    return forgotten


@pytest.fixture
def primed(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[set[int]]]:
    """A coupon whose terms the gate holds (not paused), and the record of every ``forget`` from now."""
    coupon_id = _coupon(factory)
    _prime(factory, gate, coupon_id)
    return coupon_id, _spy(monkeypatch, gate)


def _prime(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> None:
    with factory() as session:
        terms = gate.terms(session, coupon_id)
    assert terms is not None
    assert not terms.paused


def _paused(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> bool:
    with factory() as session:
        terms = gate.terms(session, coupon_id)
    assert terms is not None
    return terms.paused


def test_an_edit_is_forgotten_at_the_outer_commit_not_when_a_savepoint_is_released(
    factory: sessionmaker[Session], gate: StockGate, primed: tuple[int, list[set[int]]]
) -> None:
    coupon_id, forgotten = primed
    with factory() as session:
        _pause(session, coupon_id)
        with session.begin_nested():
            _pause(session, coupon_id)  # edited again inside a savepoint that is released
        assert forgotten == []  # nothing committed yet
        session.commit()
    assert forgotten == [{coupon_id}]
    assert _paused(factory, gate, coupon_id)


def test_an_edit_is_forgotten_at_the_outer_commit_after_an_unrelated_savepoint_rolls_back(
    factory: sessionmaker[Session], gate: StockGate, primed: tuple[int, list[set[int]]]
) -> None:
    coupon_id, forgotten = primed
    with factory() as session:
        _pause(session, coupon_id)
        unrelated = session.begin_nested()
        session.flush()
        unrelated.rollback()
        assert forgotten == []
        session.commit()
    assert forgotten == [{coupon_id}]
    assert _paused(factory, gate, coupon_id)  # the next claim here sees the pause at once


def test_an_edit_in_a_released_savepoint_is_dropped_by_the_outer_rollback(
    factory: sessionmaker[Session], gate: StockGate, primed: tuple[int, list[set[int]]]
) -> None:
    coupon_id, forgotten = primed
    with factory() as session:
        with session.begin_nested():
            _pause(session, coupon_id)
        assert forgotten == []
        session.rollback()
        session.commit()  # a later transaction of the same session forgets nothing either
    assert forgotten == []
    assert not _paused(factory, gate, coupon_id)


def test_an_edit_in_a_rolled_back_savepoint_only_is_dropped_and_the_outer_edit_kept(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    coupon_id = _coupon(factory)
    other_id = _coupon(factory)
    _prime(factory, gate, coupon_id)
    _prime(factory, gate, other_id)
    forgotten = _spy(monkeypatch, gate)
    with factory() as session:
        _pause(session, coupon_id)
        undone = session.begin_nested()
        _pause(session, other_id)
        undone.rollback()
        assert forgotten == []
        session.commit()
    assert forgotten == [{coupon_id}]
    assert _paused(factory, gate, coupon_id)
    assert not _paused(factory, gate, other_id)
