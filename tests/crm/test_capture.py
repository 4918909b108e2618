"""Shoppers the member's links bring: a claim or an order through the link that carries marketing
consent adds the shopper to the member's book with the consent; without consent, or after an
opt-out, nothing is added."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.offers.factories import coupon
from tests.orders import builders as orders


def _book(client: TestClient, operator: dict[str, str], member_id: int) -> list[tuple[str, str, bool]]:
    response = client.get(f"/api/v1/members/{member_id}/customers", headers=operator)
    return [(c["customer_ref_masked"], c["source"], c["marketing_consent"]) for c in response.json()]


def test_claims_and_orders_with_consent_fill_the_book(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    now = utcnow()
    opened = coupon(
        client,
        operator,
        500,
        starts_at=(now - timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1)).isoformat(),
    )
    link = client.post(
        "/api/v1/links",
        json={"member_id": world.seller, "sku": orders.SKU, "coupon_id": opened["id"]},
        headers=operator,
    ).json()["code"]
    claims = f"/api/v1/coupons/{opened['id']}/claims"

    def claim(ref: str, **extra: object) -> int:
        response = client.post(
            claims, json={"customer_ref": ref, "link_code": link, **extra}, headers=operator
        )
        return int(response.status_code)

    assert claim("13800000071", consent={"marketing": True, "source": "landing_tick"}) == 201
    assert claim("13800000072") == 201
    assert claim("13800000073", consent={"marketing": False}) == 201
    before = row_counts(factory)
    future = (now + timedelta(days=1)).isoformat()
    assert claim("13800000074", consent={"marketing": True, "at": future}) == 422
    assert row_counts(factory) == before
    body = orders.order_body(world, "crm-o1", customer="13800000075", at=now - timedelta(minutes=1))
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}})
    # A repeat of the order (same external id) adds nothing.
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}}, status=200)
    assert _book(client, operator, world.seller) == [
        ("138****0071", "claim", True),
        ("138****0075", "order", True),
    ]
    first = client.get(f"/api/v1/members/{world.seller}/customers", headers=operator).json()[0]
    consents = client.get(f"/api/v1/customers/{first['id']}/consents", headers=operator).json()
    assert [(c["granted"], c["source"]) for c in consents["history"]] == [(True, "landing_tick")]


def test_an_opted_out_shopper_is_not_added(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "13800000081", "request_id": "gone-1"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    body = orders.order_body(world, "crm-o2", customer="13800000081", at=utcnow() - timedelta(minutes=1))
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}})
    assert _book(client, operator, world.seller) == []
