"""Two refunds with the same refund id at once, on two connections (both databases). On two orders of
one program each locks its own order, so neither sees the other's refund before it commits: the
second waits at the refund id the first claimed and then answers 409 ``refund_id_reused`` (it was a
409 ``conflict`` from the last resort, the key taken). On one order the second waits at the order's
lock and answers the stored refund. Either way one refund moves money once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.errors import Conflict
from neigou.ledger.models import Posting
from neigou.orders import service
from neigou.orders.models import Order, Refund
from tests.conftest import TEST_ACTOR
from tests.lock_waits import LockWaits, lock_waits, two_sides
from tests.lost_race import lost_race
from tests.orders.builders import PAID_AT, SKU, World, assert_ledger_balanced, build, order_body, post_order
from tests.sqlite_lock_waits import SqliteLockWaits

PAID = 100_000


def _refund(
    world: World, external_id: str, waits: LockWaits | SqliteLockWaits, *, hold: bool, amount_fen: int = PAID
) -> Callable[[Session], tuple[int, bool]]:
    def work(session: Session) -> tuple[int, bool]:
        # As the endpoint takes it: the order read FOR UPDATE, then the refund checked against it.
        order = service.find_order(session, external_id=external_id, program_id=world.program_id, lock=True)
        row, created = service.refund(
            session, order=order, refund_id="R-1", amount_fen=amount_fen, at=PAID_AT, actor=TEST_ACTOR
        )
        if hold:
            waits.hold()  # its refund stored, its transaction open
        return row.order_id, created

    return work


def _refunded(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return dict(session.execute(select(Order.external_id, Order.refunded_fen)).tuples().all())


def test_one_refund_id_on_two_orders_at_once_is_refund_id_reused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(world, "O-1", (SKU, 1, PAID)))
    post_order(client, operator, order_body(world, "O-2", (SKU, 1, PAID), customer="c-2"))
    waits = lock_waits(factory, 2)
    first, second = two_sides(
        factory, _refund(world, "O-1", waits, hold=True), _refund(world, "O-2", waits, hold=False), waits
    )
    assert isinstance(first, tuple), first
    assert first[1] is True
    assert isinstance(second, Conflict), second
    assert second.code == "refund_id_reused"
    assert _refunded(factory) == {"O-1": PAID, "O-2": 0}
    with factory() as session:
        assert session.scalar(select(func.count(Refund.id))) == 1
        assert session.scalar(select(func.count(Posting.id)).where(Posting.key.like("refund:%"))) == 1
    assert_ledger_balanced(factory)


def test_one_refund_on_one_order_twice_at_once_is_stored_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(world, "O-1", (SKU, 1, PAID)))
    waits = lock_waits(factory, 2)
    first, second = two_sides(
        factory,
        _refund(world, "O-1", waits, hold=True, amount_fen=40_000),
        _refund(world, "O-1", waits, hold=False, amount_fen=40_000),
        waits,
    )
    assert isinstance(first, tuple), first
    assert isinstance(second, tuple), second
    assert (first[1], second[1]) == (True, False)
    assert _refunded(factory) == {"O-1": 40_000}
    with factory() as session:
        assert session.scalar(select(func.count(Refund.id))) == 1
    assert_ledger_balanced(factory)


@pytest.mark.postgres_only  # on SQLite the order's locking read holds the write lock: no race
def test_a_refund_id_lost_to_another_order_is_a_409_over_http(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], engine: Engine
) -> None:
    world = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(world, "O-1", (SKU, 1, PAID)))
    post_order(client, operator, order_body(world, "O-2", (SKU, 1, PAID), customer="c-2"))
    body = {"refund_id": "R-1", "amount_fen": PAID, "at": PAID_AT.isoformat()}

    def url(external_id: str) -> str:
        return f"/api/v1/orders/{external_id}/refunds?program_id={world.program_id}"

    loser = TestClient(client.app, raise_server_exceptions=False)
    with lost_race(engine, "refunds", lambda: client.post(url("O-1"), json=body, headers=operator)) as inner:
        answer = loser.post(url("O-2"), json=body, headers={**operator, "Accept-Language": "en"})
    assert inner == [201]
    assert answer.status_code == 409, answer.text
    assert (answer.json()["code"], answer.json()["detail"]) == (
        "refund_id_reused",
        "refund_id names a refund reported before with other terms.",
    )
    assert _refunded(factory) == {"O-1": PAID, "O-2": 0}
