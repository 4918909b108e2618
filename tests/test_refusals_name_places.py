"""A refusal of an unknown sku, share link, coupon or event type names where it was (the field, the
item's index), never what was sent there: a phone number typed into a sku's or a link code's field
would go on to the problem's reader, the logs and the import's error report. The codes stay."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.orders.builders import SKU, build, order_body

PHONE = "13812345678"


def _assert_quiet(response: Any, status: int, code: str, *places: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert PHONE not in response.text
    for place in places:
        assert place in problem["detail"]
    return problem


def test_unknown_skus_links_and_coupons_are_refused_by_their_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    before = row_counts(factory)
    quote = {"items": [{"sku": SKU, "quantity": 1}, {"sku": PHONE, "quantity": 1}]}
    unknown = _assert_quiet(
        client.post("/api/v1/quotes", json=quote, headers=operator), 422, "unknown_sku", "items[1]"
    )
    assert (unknown["field"], unknown["indexes"]) == ("items", [1])
    coupons = {"items": [{"sku": SKU, "quantity": 1}], "coupon_ids": [int(PHONE)]}
    _assert_quiet(
        client.post("/api/v1/quotes", json=coupons, headers=operator), 422, "unknown_coupon", "coupon_ids[0]"
    )
    linked = {"link_code": PHONE, "items": [{"sku": SKU, "quantity": 1}]}
    _assert_quiet(
        client.post("/api/v1/quotes", json=linked, headers=operator), 422, "unknown_link", "link_code"
    )
    link = {"member_id": w.seller, "sku": PHONE}
    _assert_quiet(client.post("/api/v1/links", json=link, headers=operator), 422, "unknown_sku", "sku")
    order = order_body(w, "O-PHONE", (SKU, 1, 1000), (PHONE, 1, 1000))
    _assert_quiet(client.post("/api/v1/orders", json=order, headers=operator), 422, "unknown_sku", "items[1]")
    linked_order = order_body(w, "O-LINK", link=PHONE)
    _assert_quiet(client.post("/api/v1/orders", json=linked_order, headers=operator), 422, "unknown_link")
    product = {
        "sku": "P-1",
        "title": "洗发水",
        "price_fen": 100,
        "commission_rate_bp": 100,
        "brand_code": "b138",
    }
    _assert_quiet(
        client.post("/api/v1/products", json=product, headers=operator), 422, "unknown_brand", "brand_code"
    )
    _assert_quiet(client.get(f"/api/v1/orders/{PHONE}", headers=operator), 404, "order_not_found")
    assert row_counts(factory) == before


def test_a_partners_unknown_event_type_is_not_repeated(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    made = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert made.status_code == 201, made.text
    shop = made.json()
    before = row_counts(factory)
    body = json.dumps({"type": f"order.{PHONE}", "data": {}}).encode()
    refused = client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={
            **signing.headers(shop["inbound_secret"], utcnow(), body),
            "content-type": "application/json",
        },
    )
    _assert_quiet(refused, 422, "unknown_event", "type")
    assert row_counts(factory) == before


def test_an_off_sale_or_out_of_scope_sku_is_refused_by_its_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A product that is off sale, or an event price for a sku outside the promotion, is refused by the
    field and the item's index; the sku sent (here a phone number, a product's real sku) is not repeated."""
    w = build(client, operator, factory)
    made = client.post(
        "/api/v1/products",
        json={"sku": PHONE, "title": "下架品", "price_fen": 100, "commission_rate_bp": 100, "active": False},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    before = row_counts(factory)
    quote = {
        "items": [{"sku": SKU, "quantity": 1}, {"sku": PHONE, "quantity": 1}, {"sku": PHONE, "quantity": 2}]
    }
    inactive = _assert_quiet(
        client.post("/api/v1/quotes", json=quote, headers=operator), 422, "product_inactive", "items[1]"
    )
    assert (inactive["field"], inactive["indexes"]) == ("items", [1, 2])
    link = {"member_id": w.seller, "sku": PHONE}
    _assert_quiet(client.post("/api/v1/links", json=link, headers=operator), 422, "product_inactive", "sku")
    english = client.post("/api/v1/quotes", json=quote, headers={**operator, "Accept-Language": "en"})
    assert english.json()["detail"] == "items[1] names a product that is not on sale."
    promotion = {
        "name": "活动价",
        "kind": "event_price",
        "params": {"prices": {SKU: 100, PHONE: 50}},
        "skus": [SKU],
        "starts_at": "2030-01-01T00:00:00+08:00",
        "ends_at": "2030-01-08T00:00:00+08:00",
    }
    scoped = _assert_quiet(
        client.post("/api/v1/promotions", json=promotion, headers=operator),
        422,
        "price_out_of_scope",
        "params.prices[1]",
    )
    assert (scoped["field"], scoped["indexes"]) == ("params.prices", [1])
    assert row_counts(factory) == before
    planned = client.post(
        "/api/v1/promotions", json={**promotion, "params": {"prices": {SKU: 100}}}, headers=operator
    )
    assert planned.status_code == 201, planned.text
    edit = {"params": {"prices": {PHONE: 50, SKU: 90}}}
    edited = _assert_quiet(
        client.patch(f"/api/v1/promotions/{planned.json()['id']}", json=edit, headers=operator),
        422,
        "price_out_of_scope",
        "params.prices[0]",
    )
    assert (edited["field"], edited["indexes"]) == ("params.prices", [0])
