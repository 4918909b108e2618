"""Order taking reads the catalog and the offers of the order's program's organization, whatever the
session's scope: a platform administrator's order, a file import or a job (no scope) cannot take
another organization's sku, nor be priced with another organization's promotion or coupon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.columns import RowError
from neigou.kit.db import transaction
from neigou.orders.ingest import Taken, ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderSource
from tests.conftest import TokenMaker
from tests.organizations.builders import PRICE_FEN, all_sku_promotion, paid_data, tenant


def test_a_platform_administrators_order_takes_only_its_programs_organizations_skus(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    all_sku_promotion(client, b, off_fen=3000)
    admin = operator  # no organization: its session has no scope
    foreign = client.post(
        "/api/v1/orders", json={**paid_data(a, "X-1", b.sku), "program_id": a.program_id}, headers=admin
    )
    assert (foreign.status_code, foreign.json()["code"]) == (422, "unknown_sku"), foreign.text
    own = client.post(
        "/api/v1/orders", json={**paid_data(a, "X-2", a.sku), "program_id": a.program_id}, headers=admin
    )
    assert own.status_code == 201, own.text
    assert own.json()["pricing"]["promotion_discount_fen"] == 0
    assert own.json()["pricing"]["applied"] == []


def test_an_unscoped_batch_prices_each_order_with_its_own_organizations_offers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    own_a = all_sku_promotion(client, a, off_fen=1000)
    own_b = all_sku_promotion(client, b, off_fen=3000)
    paid_at = utcnow() - timedelta(minutes=5)

    def order(external_id: str, program_id: int, sku: str) -> OrderIn:
        items = (ItemIn(sku, 1, PRICE_FEN),)
        return OrderIn(external_id, program_id, "13800000001", None, items, paid_at)

    batch = [
        order("A-1", a.program_id, a.sku),
        order("B-1", b.program_id, b.sku),
        order("A-2", a.program_id, b.sku),  # the other organization's sku
    ]
    with transaction(factory) as session:  # a job's or the CLI's session: no scope
        results = ingest(session, batch, secret_key="k", source=OrderSource.IMPORT, now=utcnow()).results
    assert [type(r) for r in results] == [Taken, Taken, RowError]
    refused = results[2]
    assert isinstance(refused, RowError)
    assert refused.code == "unknown_sku"
    with factory() as session:
        pricing: dict[str, Any] = dict(session.execute(select(Order.external_id, Order.pricing)).all())
    assert [offer["id"] for offer in pricing["A-1"]["applied"]] == [own_a["id"]]
    assert pricing["A-1"]["promotion_discount_fen"] == 1000
    assert [offer["id"] for offer in pricing["B-1"]["applied"]] == [own_b["id"]]
    assert pricing["B-1"]["promotion_discount_fen"] == 3000
