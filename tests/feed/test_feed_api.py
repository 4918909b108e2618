"""The member's feed: live campaigns of their program, group prices, estimates at their tier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.offers.models import CouponTemplate, Product
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.factories import create_program

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> b.FeedWorld:
    return b.build(module_client, module_operator, module_make_token)


def _by_sku(feed: dict[str, object]) -> dict[str, dict[str, object]]:
    return {i["sku"]: i for i in feed["items"]}  # type: ignore[attr-defined]


def test_the_feed_prices_each_item_for_the_group_and_the_member(
    client: TestClient, world: b.FeedWorld
) -> None:
    feed = b.feed(client, world.owner_headers, world.owner, b.AT)
    assert (feed["tier_code"], feed["share_bp"]) == ("super_member", 2000)
    items = _by_sku(feed)
    shampoo, tee = items[b.SHAMPOO], items[b.TEE]
    assert {k: shampoo[k] for k in ("campaign_id", "sku", "title", "price_fen", "group_price_fen")} == {
        "campaign_id": world.campaign_id,
        "sku": b.SHAMPOO,
        "title": "飘柔 去屑洗发水 500ml",
        "price_fen": 4990,
        "group_price_fen": 2490,
    }
    # floor(2490 × (2000 + 500) × 2000 / 10^8) = floor(124.5); the tee has no coupon of its own:
    # floor(5900 × (1000 + 500) × 2000 / 10^8) = 177
    assert shampoo["est_commission_fen"] == 124
    assert (tee["group_price_fen"], tee["est_commission_fen"]) == (5900, 177)


def test_the_estimate_follows_the_members_tier(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    items = _by_sku(b.feed(client, operator, world.mentor, b.AT))
    assert items[b.SHAMPOO]["est_commission_fen"] == 186  # floor(2490 × 2500 × 3000 / 10^8)
    assert items[b.TEE]["est_commission_fen"] == 265  # floor(5900 × 1500 × 3000 / 10^8)


def test_only_campaigns_live_at_the_moment_are_shown(client: TestClient, world: b.FeedWorld) -> None:
    headers, owner = world.owner_headers, world.owner
    assert b.feed(client, headers, owner, b.STARTS - timedelta(seconds=1))["items"] == []
    assert len(b.feed(client, headers, owner, b.STARTS)["items"]) == 2
    assert b.feed(client, headers, owner, b.ENDS)["items"] == []


def test_another_programs_campaigns_never_show(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    other = create_program(client, operator, code="elsewhere")
    b.create_campaign(client, operator, b.campaign_body(other["id"], name="别处的活动"))
    items = b.feed(client, world.owner_headers, world.owner, b.AT)["items"]
    assert {i["campaign_id"] for i in items} == {world.campaign_id}


def test_filters_by_price_and_category(
    client: TestClient, operator: dict[str, str], world: b.FeedWorld
) -> None:
    cheap = b.feed(client, world.owner_headers, world.owner, b.AT, max_price_fen=3000)["items"]
    assert [i["sku"] for i in cheap] == [b.SHAMPOO]  # filtered by the group price, ¥24.90
    dear = b.feed(client, world.owner_headers, world.owner, b.AT, min_price_fen=3000)["items"]
    assert [i["sku"] for i in dear] == [b.TEE]
    category = client.post(
        "/api/v1/categories", json={"code": "care", "name": "个护"}, headers=operator
    ).json()
    product = client.get("/api/v1/products", params={"q": b.SHAMPOO}, headers=operator).json()
    shampoo = next(p for p in product if p["sku"] == b.SHAMPOO)
    patched = client.patch(
        f"/api/v1/products/{shampoo['id']}", json={"category_code": "care"}, headers=operator
    )
    assert patched.status_code == 200, patched.text
    shown = b.feed(client, world.owner_headers, world.owner, b.AT, category_id=category["id"])["items"]
    assert [i["sku"] for i in shown] == [b.SHAMPOO]


def test_sold_out_and_withdrawn_items_drop_out(
    factory: sessionmaker[Session], client: TestClient, world: b.FeedWorld
) -> None:
    with transaction(factory) as session:
        session.execute(update(Product).where(Product.sku == b.TEE).values(active=False))
    assert [i["sku"] for i in b.feed(client, world.owner_headers, world.owner, b.AT)["items"]] == [b.SHAMPOO]
    with transaction(factory) as session:
        session.execute(
            update(CouponTemplate)
            .where(CouponTemplate.id == world.coupon_id)
            .values(claimed_quantity=CouponTemplate.total_quantity)
        )
    assert b.feed(client, world.owner_headers, world.owner, b.AT)["items"] == []


def test_ranking_puts_what_earns_and_sells_first(client: TestClient, world: b.FeedWorld) -> None:
    items = b.feed(client, world.owner_headers, world.owner, b.AT)["items"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert all(i["conversion_bp"] == 300 for i in items)  # no traffic yet: the prior


def test_bad_queries_are_problems(client: TestClient, world: b.FeedWorld) -> None:
    naive = client.get(
        f"/api/v1/members/{world.owner}/feed?at=2026-03-24T12:00:00", headers=world.owner_headers
    )
    assert (naive.status_code, naive.json()["code"]) == (422, "validation_error")
    negative = client.get(f"/api/v1/members/{world.owner}/feed?min_price_fen=-1", headers=world.owner_headers)
    assert negative.status_code == 422
