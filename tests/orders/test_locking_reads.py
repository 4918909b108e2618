"""Two settlements, or two full refunds of one order, at once on two connections (both databases):
whichever comes second waits at its locking read for the first one's commit and then sees it, so the
frozen commission is released once and the paid amount is refunded once. The first side holds right
after its locking read until the second waits for its lock or ran to its end (``tests.lock_waits``):
without the lock (SQLite's write lock, ``kit.db.make_engine``) the money moves twice and these fail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Conflict
from neigou.orders import service, settlement
from neigou.orders.models import Order, Refund, Settlement
from neigou.programs.models import Program
from tests.conftest import TEST_ACTOR
from tests.lock_waits import lock_waits, paused, two_sides
from tests.orders.builders import PAID_AT, SKU, assert_ledger_balanced, balance, build, order_body, post_order


def test_parallel_settlements_release_the_frozen_commission_once(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "SET-1", (SKU, 1, 100_000)))
    completed = client.post(
        "/api/v1/orders/SET-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator
    )
    assert completed.status_code == 200, completed.text
    before = balance(client, operator, w.seller)
    assert before["frozen_fen"] > 0
    waits = lock_waits(factory, 2)
    # The settlement row is made right after the orders were read FOR UPDATE: hold there.
    monkeypatch.setattr(settlement, "Settlement", paused(Settlement, waits))

    def settle(session: Session) -> int:
        program = session.get_one(Program, w.program_id)
        as_of = PAID_AT + timedelta(days=30)
        return settlement.settle(session, program=program, as_of=as_of, actor=TEST_ACTOR, now=as_of).orders

    assert two_sides(factory, settle, settle, waits) == (1, 0)
    after = balance(client, operator, w.seller)
    assert (after["frozen_fen"], after["available_fen"]) == (
        0,
        before["available_fen"] + before["frozen_fen"],
    )
    with factory() as session:
        assert session.scalars(select(Settlement.orders).where(Settlement.released_fen > 0)).all() == [1]
        assert session.scalar(select(func.count()).where(Order.settlement_id.is_not(None))) == 1
    assert_ledger_balanced(factory)


def test_parallel_full_refunds_of_one_order_take_it_back_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "REF-1", (SKU, 1, 100_000)))
    before = balance(client, operator, w.seller)
    waits = lock_waits(factory, 2)

    def refund(refund_id: str) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            # As the endpoint takes it: the order read FOR UPDATE, then the refund checked against it.
            order = service.find_order(session, external_id="REF-1", program_id=w.program_id, lock=True)
            waits.hold()
            row, _ = service.refund(
                session, order=order, refund_id=refund_id, amount_fen=100_000, at=PAID_AT, actor=TEST_ACTOR
            )
            return row.amount_fen

        return work

    first, second = two_sides(factory, refund("R-a"), refund("R-b"), waits)
    assert first == 100_000
    assert isinstance(second, Conflict), second
    assert second.code == "refund_exceeds_paid"
    with factory() as session:
        assert session.scalar(select(func.count(Refund.id))) == 1
        assert session.scalar(select(Order.refunded_fen).where(Order.external_id == "REF-1")) == 100_000
    after = balance(client, operator, w.seller)
    assert before["pending_fen"] > 0
    assert after["pending_fen"] == 0
    assert_ledger_balanced(factory)
