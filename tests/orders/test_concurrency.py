"""Duplicate order and refund deliveries in parallel on PostgreSQL: one row, one posting, the same answer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.ledger.models import Posting
from neigou.orders import service
from neigou.orders.models import Order, OrderSource, Refund
from neigou.orders.schemas import OrderBody
from neigou.orders.views import order_in
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import assert_ledger_balanced, build, order_body, post_order
from tests.parallel import in_parallel

PARALLEL = 8


@pytest.mark.postgres_only
def test_concurrent_duplicate_orders_store_one_and_post_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    data = order_in(OrderBody.model_validate(order_body(w, "RACE-1")))

    def take(session: Session) -> tuple[int, bool]:
        order, created = service.take_order(
            session, data=data, secret_key=SECRET, source=OrderSource.WEBHOOK, actor=TEST_ACTOR, now=utcnow()
        )
        return order.id, created

    results = in_parallel(factory, take, PARALLEL)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0] for r in results}) == 1  # type: ignore[index]
    assert sorted(r[1] for r in results) == [False] * (PARALLEL - 1) + [True]  # type: ignore[index]
    with factory() as session:
        assert session.scalar(select(func.count(Order.id))) == 1
        assert session.scalar(select(func.count(Posting.id))) == 1
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_concurrent_refunds_never_exceed_the_paid_amount(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    post_order(client, operator, order_body(w, "RACE-2"))  # paid 10000
    counter = iter(range(PARALLEL))

    def refund(session: Session) -> int:
        order = service.find_order(session, external_id="RACE-2", program_id=w.program_id, lock=True)
        row, _ = service.refund(
            session,
            order=order,
            refund_id=f"R{next(counter)}",
            amount_fen=3000,
            at=utcnow(),
            actor=TEST_ACTOR,
        )
        return row.id

    results = in_parallel(factory, refund, PARALLEL)
    assert sum(isinstance(r, int) for r in results) == 3
    with factory() as session:
        assert session.scalar(select(func.sum(Refund.amount_fen))) == 9000
        order = session.scalar(select(Order).where(Order.external_id == "RACE-2"))
        assert order is not None
        assert order.refunded_fen == 9000
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_parallel_retries_of_one_refund_take_it_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The same refund_id delivered at once, as the endpoint takes it (the order locked first): one
    refund reversing commission once, every other delivery answered with it."""
    w = build(client, operator, factory)
    post_order(client, operator, order_body(w, "RACE-3"))

    def refund(session: Session) -> tuple[int, bool]:
        order = service.find_order(session, external_id="RACE-3", program_id=w.program_id, lock=True)
        row, created = service.refund(
            session, order=order, refund_id="R-retry", amount_fen=3000, at=utcnow(), actor=TEST_ACTOR
        )
        return row.id, created

    results = in_parallel(factory, refund, PARALLEL)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0] for r in results}) == 1  # type: ignore[index]
    assert sorted(r[1] for r in results) == [False] * (PARALLEL - 1) + [True]  # type: ignore[index]
    with factory() as session:
        assert session.scalar(select(func.count(Refund.id))) == 1
        order = session.scalar(select(Order).where(Order.external_id == "RACE-3"))
        assert order is not None
        assert order.refunded_fen == 3000
    assert_ledger_balanced(factory)
