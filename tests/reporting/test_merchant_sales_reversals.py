"""A merchant's sales count commission net of reversals, in the API and the workbook: a confirmed risk case
(ten brushed ¥5 orders) takes its orders' commission out of the figure, also of an order a refund had
partly reversed before (never subtracted twice), while an order only refunded keeps the refund rule's
figure; on both databases."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.offers.models import Product
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT, SKU, order_body, post_order
from tests.risk.builders import brush, cases, resolve

RANGE = "from=2026-03-01&to=2026-03-31"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _sales(client: TestClient, operator: dict[str, str], shop: int) -> list[Any]:
    """The xlsx rows by day (the header dropped), after checking the API's totals say the same."""
    total = _ok(client.get(f"/api/v1/merchants/{shop}/sales?{RANGE}", headers=operator))
    answer = client.get(f"/api/v1/merchants/{shop}/sales.xlsx?{RANGE}&by=day", headers=operator)
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)][1:]
    assert rows[-1][:5] == [
        "total",
        total["orders"],
        total["gmv_fen"],
        total["refund_fen"],
        total["commission_fen"],
    ]
    return rows


def test_a_confirmed_risk_case_takes_its_commission_out_of_the_merchants_sales(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    shop = _ok(client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=operator), 201)
    with factory() as session:
        product_id = session.scalar(select(Product.id).where(Product.sku == SKU))
    moved = client.patch(f"/api/v1/products/{product_id}", json={"merchant_id": shop["id"]}, headers=operator)
    assert _ok(moved)["merchant_id"] == shop["id"]
    # Ten ¥5 orders (20% pool: seller 20, owner 5, mentor 10 each) open an order_brushing case.
    brush(client, operator, world, 10)
    [case] = cases(client, operator, world.program_id, "open")
    assert case["rule"] == "order_brushing"
    # Half of B-0 refunded while held: its commissions keep 10, 3 and 5.
    refund = {"refund_id": "B-0-r", "amount_fen": 250, "at": (PAID_AT + timedelta(hours=2)).isoformat()}
    _ok(client.post("/api/v1/orders/B-0/refunds", json=refund, headers=operator), 201)
    # Two days later a mixed order, a fifth refunded: the merchant's line (2000 of 5000 paid, pool 400)
    # pays seller 80, owner 20, mentor 40, each less a fifth: 64 + 16 + 32 = 112.
    mixed = order_body(
        world, "MIX", (SKU, 1, 2000), ("YD-TEE", 1, 3000), at=PAID_AT + timedelta(days=2), customer="mix"
    )
    post_order(client, operator, mixed)
    refund = {
        "refund_id": "MIX-r",
        "amount_fen": 1000,
        "at": (PAID_AT + timedelta(days=2, hours=1)).isoformat(),
    }
    _ok(client.post("/api/v1/orders/MIX/refunds", json=refund, headers=operator), 201)
    held = 9 * 35 + 18
    assert _sales(client, operator, shop["id"]) == [
        ["2026-03-01", 10, 5000, 250, held, 0, 0],
        ["2026-03-03", 1, 2000, 400, 112, 0, 0],
        ["total", 11, 7000, 650, held + 112, 0, 0],
    ]
    assert resolve(client, operator, case["id"], "confirm").status_code == 200
    assert _sales(client, operator, shop["id"]) == [
        ["2026-03-01", 10, 5000, 250, 0, 0, 0],
        ["2026-03-03", 1, 2000, 400, 112, 0, 0],
        ["total", 11, 7000, 650, 112, 0, 0],
    ]
