"""A program without a tier ladder pays nothing, so it takes no links and no orders until it has one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.factories import PARTNER_TIERS, create_member
from tests.offers import factories as offer_builders
from tests.orders.builders import PAID_AT, SKU, World, order_body, post_order
from tests.sign_in import console_sign_in


def test_links_and_orders_wait_for_the_ladder(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = client.post("/api/v1/programs", json={"code": "bare", "name": "Bare"}, headers=operator).json()
    seller = create_member(client, operator, program["id"], "seller")
    offer_builders.product(client, operator, SKU, 4990, commission_rate_bp=2000)
    before = row_counts(factory)
    link = client.post("/api/v1/links", json={"member_id": seller["id"], "sku": SKU}, headers=operator)
    assert (link.status_code, link.json()["code"]) == (409, "no_tiers")
    assert "等级" in link.json()["detail"]
    world = World(program["id"], seller["id"], seller["id"], seller["id"], "", "")
    body = {**order_body(world, "BARE-1", (SKU, 1, 4990)), "link_code": None}
    order = client.post("/api/v1/orders", json=body, headers=operator)
    assert (order.status_code, order.json()["code"]) == (409, "no_tiers")
    english = client.post("/api/v1/orders", json=body, headers={**operator, "Accept-Language": "en"})
    assert "no tier ladder" in english.json()["detail"]
    assert row_counts(factory) == before
    laddered = client.put(f"/api/v1/programs/{program['id']}/tiers", json=PARTNER_TIERS, headers=operator)
    assert laddered.status_code == 200
    assert (
        client.post(
            "/api/v1/links", json={"member_id": seller["id"], "sku": SKU}, headers=operator
        ).status_code
        == 201
    )
    taken = post_order(client, operator, {**body, "paid_at": PAID_AT.isoformat()})
    assert taken["external_id"] == "BARE-1"


def test_console_walks_the_operator_to_the_ladder(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = client.post("/api/v1/programs", json={"code": "bare", "name": "Bare"}, headers=operator).json()
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{program['id']}").text
    assert 'data-testid="no-tiers"' in page
    assert f'href="/console/programs/{program["id"]}/tiers" data-testid="set-tiers"' in page
    client.put(f"/api/v1/programs/{program['id']}/tiers", json=PARTNER_TIERS, headers=operator)
    assert 'data-testid="no-tiers"' not in client.get(f"/console/programs/{program['id']}").text
