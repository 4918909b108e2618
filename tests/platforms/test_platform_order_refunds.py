"""A platform-fed order's money is the platform's: its refunds come only from its platform's rows, a line
at a time. An order-wide refund of it, through the API or a shop's webhook, is refused (409
``platform_order_refund``) with nothing written, whatever its lines' refunds were before; and a line's
refund capped by what the order had left stores what it refunded, not its target."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.orders.models import Order, OrderSource, Refund
from neigou.platforms.models import PlatformOrderLine
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, order_of

pytestmark = pytest.mark.world_per_module

ORDER = 700002
FEE_SKU, FREE_SKU = 1, 2  # the line carrying the whole fee and the line without any
TAKEN = [(1000, 0), (250, 0), (500, 0)]


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _row(f: Feeds, sku: int, **terms: Any) -> dict[str, Any]:
    fee = "50.00" if sku == FEE_SKU else "0.00"
    return jd_row(ORDER, sku, paid="100.00", fee=fee, sub_union_id=f.w.link, **terms)


def _taken(client: TestClient, operator: dict[str, str], f: Feeds) -> None:
    out = feed(client, operator, f.integration_id, "jd_union", [_row(f, FEE_SKU), _row(f, FREE_SKU)])
    assert (out["created"], out["refunds"]) == (1, 0)
    assert _commissions(client, operator, f) == TAKEN


def _commissions(client: TestClient, operator: dict[str, str], f: Feeds) -> list[tuple[int, int]]:
    return [(c["amount_fen"], c["reversed_fen"]) for c in order_of(client, operator, f, ORDER)["commissions"]]


def _api_refund(client: TestClient, operator: dict[str, str], f: Feeds, refund_id: str, fen: int) -> Any:
    body = {"refund_id": refund_id, "amount_fen": fen, "at": "2026-03-10T12:00:00+08:00"}
    return client.post(
        f"/api/v1/orders/{ORDER}/refunds?program_id={f.w.program_id}", json=body, headers=operator
    )


def _refunds(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Refund)
                .join(Order, Order.id == Refund.order_id)
                .where(Order.external_id == str(ORDER))
            )
            or 0
        )


def _refused(response: Any) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "platform_order_refund"
    assert "平台" in response.json()["detail"]


def test_an_api_refund_after_a_line_refund_is_refused_and_writes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    invalid = _row(world, FREE_SKU, valid_code=13, modified=timedelta(days=1))
    assert feed(client, operator, world.integration_id, "jd_union", [invalid])["refunds"] == 1
    # the order-wide rule over 10,001 of 20,000 would take back 500 of the seller's 1000
    _refused(_api_refund(client, operator, world, "shop-1", 1))
    assert _commissions(client, operator, world) == TAKEN
    assert order_of(client, operator, world, ORDER)["refunded_fen"] == 10_000
    assert _refunds(factory) == 1
    assert_ledger_balanced(factory)


def test_an_api_refund_before_the_lines_is_refused_and_the_feed_reverses_all(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    _refused(_api_refund(client, operator, world, "shop-1", 10_000))
    assert (_commissions(client, operator, world), _refunds(factory)) == (TAKEN, 0)
    rows = [
        _row(world, FREE_SKU, valid_code=13, modified=timedelta(days=1)),
        _row(world, FEE_SKU, valid_code=13, modified=timedelta(days=2)),
    ]
    assert feed(client, operator, world.integration_id, "jd_union", rows)["refunds"] == 2
    # the platform pays nothing on the order: the members keep nothing of it
    assert _commissions(client, operator, world) == [(1000, 1000), (250, 250), (500, 500)]
    assert_ledger_balanced(factory)


def test_a_shop_refund_webhook_on_a_platform_order_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    shop = client.post(
        f"/api/v1/programs/{world.w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    data = {"external_id": str(ORDER), "refund_id": "r-1", "amount_fen": 1, "at": "2026-03-10T12:00:00+08:00"}
    raw = json.dumps({"type": "order.refunded", "data": data}).encode()
    headers = signing.headers(shop.json()["inbound_secret"], utcnow() - timedelta(seconds=5), raw)
    response = client.post(
        f"/webhooks/v1/integrations/{shop.json()['id']}",
        content=raw,
        headers={**headers, "content-type": "application/json", "accept-language": "en"},
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "platform_order_refund"
    assert response.json()["detail"] == "This order's refunds come from its platform's order feed."
    assert (_commissions(client, operator, world), _refunds(factory)) == (TAKEN, 0)


def test_a_line_refund_capped_by_the_order_stores_what_it_refunded(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    _taken(client, operator, world)
    with factory() as session:  # an order-wide refund stored before platform orders refused them
        session.execute(update(Order).where(Order.external_id == str(ORDER)).values(source=OrderSource.API))
        session.commit()
    assert _api_refund(client, operator, world, "old-1", 15_000).status_code == 201
    with factory() as session:
        session.execute(
            update(Order).where(Order.external_id == str(ORDER)).values(source=OrderSource.PLATFORM)
        )
        session.commit()
    invalid = _row(world, FEE_SKU, valid_code=13, modified=timedelta(days=1))
    assert feed(client, operator, world.integration_id, "jd_union", [invalid])["refunds"] == 1
    assert order_of(client, operator, world, ORDER)["refunded_fen"] == 20_000
    with factory() as session:
        stored = session.scalars(
            select(PlatformOrderLine.refunded_fen).where(PlatformOrderLine.line_key == str(FEE_SKU))
        ).all()
        refund_ids = session.scalars(
            select(Refund.refund_id).join(Order).where(Order.external_id == str(ORDER)).order_by(Refund.id)
        ).all()
    assert stored == [5_000]  # of its 10,000: the order had no more left
    assert refund_ids == ["old-1", f"jd_union:{ORDER}:{FEE_SKU}:5000"]
    # the same row again refunds nothing more
    assert feed(client, operator, world.integration_id, "jd_union", [invalid])["refunds"] == 0
    assert_ledger_balanced(factory)
