"""The same platform rows fed in parallel (PostgreSQL; a refund row fed twice on both databases): one order,
one refund, the ledger balanced."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations.models import Integration
from neigou.kit.clock import utcnow
from neigou.orders.models import Order, Refund
from neigou.platforms.feeds import FeedResult, apply_rows
from neigou.platforms.rows import Platform
from tests.conftest import SECRET, TEST_ACTOR
from tests.lock_waits import lock_waits, two_sides
from tests.orders.builders import assert_ledger_balanced, build
from tests.orders.test_concurrency import PARALLEL
from tests.parallel import in_parallel
from tests.platforms.builders import integration, jd_row


def _apply(session: Session, integration_id: int, rows: list[dict[str, object]]) -> FeedResult:
    """JD 联盟 rows applied to the integration's program, as the feed endpoint applies them, now."""
    now = utcnow()
    return apply_rows(
        session,
        integration=session.get_one(Integration, integration_id),
        platform=Platform.JD_UNION,
        rows=rows,
        secret_key=SECRET,
        now=now,
        latest=now,
        actor=TEST_ACTOR,
    )


@pytest.mark.postgres_only
def test_parallel_feeds_of_the_same_rows_take_the_order_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    integration_id = integration(client, operator, w)
    rows = [
        jd_row(700001, sku_num=2, sub_union_id=w.link),
        jd_row(700001, sku_num=2, returned=1, sub_union_id=w.link, modified=timedelta(days=1)),
    ]

    def feed(session: Session) -> FeedResult:
        return _apply(session, integration_id, rows)

    results = in_parallel(factory, feed, PARALLEL)
    assert all(isinstance(r, FeedResult) for r in results), results
    assert sorted(r.created for r in results) == [0] * (PARALLEL - 1) + [1]  # type: ignore[attr-defined]
    with factory() as session:
        assert session.scalar(select(func.count(Order.id))) == 1
        assert session.scalar(select(func.count(Refund.id))) == 1
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only
def test_parallel_feeds_of_overlapping_rows_in_any_order_neither_deadlock_nor_double(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Batches that share orders but list them in another order (a poller's window and a file import of
    the same days, two pages fetched twice): every batch commits, each order is taken in once and each
    refund posted once."""
    w = build(client, operator, factory)
    integration_id = integration(client, operator, w)
    orders = list(range(710001, 710009))
    rows = {
        n: [
            jd_row(n, sku_num=2, sub_union_id=w.link),
            jd_row(n, sku_num=2, returned=1, sub_union_id=w.link, modified=timedelta(days=1)),
        ]
        for n in orders
    }
    started = itertools.count()

    def feed(session: Session) -> FeedResult:
        turn = next(started)
        shifted = orders[turn % len(orders) :] + orders[: turn % len(orders)]
        ordered = shifted if turn % 2 else shifted[::-1]
        return _apply(session, integration_id, [row for n in ordered for row in rows[n]])

    results = in_parallel(factory, feed, PARALLEL)
    assert all(isinstance(r, FeedResult) for r in results), results
    assert sum(r.created for r in results) == len(orders)  # type: ignore[attr-defined]
    assert sum(r.refunds for r in results) == len(orders)  # type: ignore[attr-defined]
    with factory() as session:
        assert session.scalar(select(func.count(Order.id))) == len(orders)
        assert session.scalar(select(func.count(Refund.id))) == len(orders)
    assert_ledger_balanced(factory)


def test_a_refund_row_fed_twice_at_once_refunds_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The order is taken; then its refund row comes in two feeds at once (both databases): the second
    waits at the platform order's lock for the first's commit and finds the line refunded."""
    w = build(client, operator, factory)
    integration_id = integration(client, operator, w)
    with factory() as session:
        assert _apply(session, integration_id, [jd_row(720001, sku_num=2, sub_union_id=w.link)]).created == 1
        session.commit()
    returned = [jd_row(720001, sku_num=2, returned=1, sub_union_id=w.link, modified=timedelta(days=1))]
    waits = lock_waits(factory, 2)

    def feed(hold: bool) -> Callable[[Session], int]:
        def work(session: Session) -> int:
            result = _apply(session, integration_id, returned)
            if hold:
                waits.hold()  # its refund posted, its transaction open
            return result.refunds

        return work

    assert two_sides(factory, feed(True), feed(False), waits) == (1, 0)
    with factory() as session:
        assert session.scalar(select(func.count(Refund.id))) == 1
        paid, refunded = session.execute(select(Order.paid_fen, Order.refunded_fen)).one()
    assert refunded * 2 == paid
    assert_ledger_balanced(factory)
