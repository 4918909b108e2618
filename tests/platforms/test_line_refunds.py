"""A platform line's refund takes back that line's share of the commission (its own fee's), not a share
of the order's price: the line that carried the fee takes it all back, a line without fee nothing, and
reconciliation's ledger side reverses the pool the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.ledger.models import Posting, PostingKind
from neigou.orders.models import Order, Refund
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, order_of

pytestmark = pytest.mark.world_per_module

ORDER = 700001
FEE_SKU, FREE_SKU = 1, 2  # the line carrying the whole fee and the line without any


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _row(f: Feeds, sku: int, **terms: Any) -> dict[str, Any]:
    fee = "50.00" if sku == FEE_SKU else "0.00"
    return jd_row(ORDER, sku, paid="100.00", fee=fee, sub_union_id=f.w.link, **terms)


def _paid(f: Feeds) -> list[dict[str, Any]]:
    return [_row(f, FEE_SKU), _row(f, FREE_SKU)]


def _taken(client: TestClient, operator: dict[str, str], f: Feeds) -> None:
    out = feed(client, operator, f.integration_id, "jd_union", _paid(f))
    assert (out["created"], out["refunds"]) == (1, 0)
    # pool 5000 fen, all of it the first line's fee: seller 20% share, owner 5% and mentor 10% override
    assert _commissions(client, operator, f) == [(1000, 0), (250, 0), (500, 0)]


def _commissions(client: TestClient, operator: dict[str, str], f: Feeds) -> list[tuple[int, int]]:
    return [(c["amount_fen"], c["reversed_fen"]) for c in order_of(client, operator, f, ORDER)["commissions"]]


def _reconciled(client: TestClient, operator: dict[str, str], f: Feeds) -> tuple[int, int, int, Any]:
    url = f"/api/v1/programs/{f.w.program_id}/reconciliation?platform=jd_union&month=2026-03"
    response = client.get(url, headers=operator)
    assert response.status_code == 200, response.text
    (row,) = [r for r in response.json()["rows"] if r["external_id"] == str(ORDER)]
    return (
        row["platform_commission_fen"],
        row["ledger_commission_fen"],
        row["members_commission_fen"],
        row["cause"],
    )


def test_the_invalid_line_that_carried_the_fee_takes_back_the_whole_commission(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    invalid = _row(world, FEE_SKU, valid_code=13, modified=timedelta(days=1))
    out = feed(client, operator, world.integration_id, "jd_union", [invalid])
    assert (out["updated"], out["refunds"]) == (1, 1)
    assert order_of(client, operator, world, ORDER)["refunded_fen"] == 10_000
    # half the order's price went back, all of its fee: nothing is left to earn
    assert _commissions(client, operator, world) == [(1000, 1000), (250, 250), (500, 500)]
    assert _reconciled(client, operator, world) == (0, 0, 0, None)
    assert_ledger_balanced(factory)


def test_the_invalid_line_without_fee_takes_back_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    invalid = _row(world, FREE_SKU, valid_code=13, modified=timedelta(days=1))
    out = feed(client, operator, world.integration_id, "jd_union", [invalid])
    assert (out["updated"], out["refunds"]) == (1, 1)
    assert order_of(client, operator, world, ORDER)["refunded_fen"] == 10_000
    assert _commissions(client, operator, world) == [(1000, 0), (250, 0), (500, 0)]
    assert _reconciled(client, operator, world) == (5000, 5000, 1750, None)
    with factory() as session:  # the refund is recorded, and nothing was posted for it
        order_id = session.scalars(select(Order.id).where(Order.external_id == str(ORDER))).one()
        assert session.scalars(select(Refund.reversed_fen).where(Refund.order_id == order_id)).all() == [0]
    assert_ledger_balanced(factory)


def test_a_line_returned_in_steps_in_any_order_and_repeated_takes_back_its_share_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    paid = [_row(world, FEE_SKU, sku_num=2), _row(world, FREE_SKU, sku_num=2)]
    assert feed(client, operator, world.integration_id, "jd_union", paid)["created"] == 1
    half = _row(world, FEE_SKU, sku_num=2, returned=1, modified=timedelta(days=1))
    invalid = _row(world, FEE_SKU, sku_num=2, valid_code=13, modified=timedelta(days=2))
    free_half = _row(world, FREE_SKU, sku_num=2, returned=1, modified=timedelta(days=1))
    # one of two units of the fee's line back: half its share, not a quarter (half of the order's half)
    assert feed(client, operator, world.integration_id, "jd_union", [half, *paid, half])["refunds"] == 1
    assert _commissions(client, operator, world) == [(1000, 500), (250, 125), (500, 250)]
    assert _reconciled(client, operator, world)[1:3] == (2500, 875)
    # the rest of it, with stale rows before and after; then the line without fee
    out = feed(client, operator, world.integration_id, "jd_union", [half, invalid, *paid, half])
    assert out["refunds"] == 1
    assert _commissions(client, operator, world) == [(1000, 1000), (250, 250), (500, 500)]
    assert feed(client, operator, world.integration_id, "jd_union", [free_half, invalid])["refunds"] == 1
    # repeats, in any order, move nothing: one refund per target, one reversal posting per refund
    for rows in ([invalid, half, *paid, free_half], [free_half, *reversed(paid), invalid, half]):
        again = feed(client, operator, world.integration_id, "jd_union", rows)
        assert (again["created"], again["refunds"], again["updated"]) == (0, 0, 0)
    assert _commissions(client, operator, world) == [(1000, 1000), (250, 250), (500, 500)]
    with factory() as session:
        order = session.scalars(select(Order).where(Order.external_id == str(ORDER))).one()
        refunds = session.execute(
            select(Refund.amount_fen, Refund.reversed_fen)
            .where(Refund.order_id == order.id)
            .order_by(Refund.id)
        ).all()
        assert [tuple(r) for r in refunds] == [(5000, 875), (5000, 875), (5000, 0)]
        assert order.refunded_fen == 15_000
        postings = session.scalar(
            select(func.count())
            .select_from(Posting)
            .where(Posting.source_id == order.id, Posting.kind == PostingKind.COMMISSION_REVERSED)
        )
        assert postings == 2
    assert _reconciled(client, operator, world) == (0, 0, 0, None)
    assert_ledger_balanced(factory)
